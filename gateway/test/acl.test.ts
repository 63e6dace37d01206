import { describe, expect, it } from 'vitest';
import { aclFor } from '../src/acl/acl.js';
import { filterWithin, isValidTopicFilter, isValidTopicName, topicMatches } from '../src/acl/topics.js';

describe('topic filters', () => {
  it('matches like MQTT 3.1.1 section 4.7', () => {
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });

  it('grants a filter only when everything it can match is allowed', () => {
    expect(filterWithin('a/b', 'a/#')).toBe(true);
    expect(filterWithin('a', 'a/#')).toBe(true);
    expect(filterWithin('a/#', 'a/#')).toBe(true);
    expect(filterWithin('a/+/c', 'a/#')).toBe(true);
    expect(filterWithin('#', 'a/#')).toBe(false);
    expect(filterWithin('+/b', 'a/#')).toBe(false);
    expect(filterWithin('a/#', 'a/+')).toBe(false);
    expect(filterWithin('a/b/#', 'a/+')).toBe(false);
    expect(filterWithin('a/b', 'a/+')).toBe(true);
    expect(filterWithin('a', 'a/+')).toBe(false);
    expect(filterWithin('$SYS/x', '+/x')).toBe(false);
  });

  it('validates names and filters', () => {
    expect(isValidTopicName('a/b')).toBe(true);
    expect(isValidTopicName('a/+')).toBe(false);
    expect(isValidTopicName('')).toBe(false);
    expect(isValidTopicName('a\u0000b')).toBe(false);
    expect(isValidTopicFilter('a/#')).toBe(true);
    expect(isValidTopicFilter('a/#/b')).toBe(false);
    expect(isValidTopicFilter('a/b#')).toBe(false);
    expect(isValidTopicFilter('a/+b')).toBe(false);
  });
});

describe('ACL', () => {
  const gw = aclFor(
    { kind: 'gateway', edgeNodeId: 'gw-1', groupId: 'site', jti: 'j', expiresAt: Date.now() + 1000 },
    { primaryHostId: 'bv-cloud' },
  );

  it('lets a gateway publish only its own uplink Sparkplug messages', () => {
    for (const t of ['NBIRTH', 'NDEATH', 'NDATA']) expect(gw.canPublish(`spBv1.0/site/${t}/gw-1`)).toBe(true);
    for (const t of ['DBIRTH', 'DDEATH', 'DDATA'])
      expect(gw.canPublish(`spBv1.0/site/${t}/gw-1/s1`)).toBe(true);
    for (const topic of [
      'spBv1.0/site/NDATA/gw-2',
      'spBv1.0/site/NDATA/gw-1/extra',
      'spBv1.0/site/DDATA/gw-1',
      'spBv1.0/site/DDATA/gw-1/',
      'spBv1.0/site/NCMD/gw-1',
      'spBv1.0/site/DCMD/gw-1/s1',
      'spBv1.0/other/NDATA/gw-1',
      'spBv1.0/STATE/bv-cloud',
      'spBv1.0/site/NDATA/gw-10',
      'spBv1.0/site/NDATA/gw-',
      'bv/site/x',
    ]) {
      expect(gw.canPublish(topic), topic).toBe(false);
    }
  });

  it('lets a gateway subscribe to its commands and the primary host STATE', () => {
    expect(gw.canSubscribe('spBv1.0/site/NCMD/gw-1')).toBe(true);
    expect(gw.canSubscribe('spBv1.0/site/DCMD/gw-1/+')).toBe(true);
    expect(gw.canSubscribe('spBv1.0/STATE/bv-cloud')).toBe(true);
    expect(gw.canSubscribe('spBv1.0/STATE/+')).toBe(false);
    expect(gw.canSubscribe('spBv1.0/site/+/gw-1')).toBe(false);
    expect(gw.canSubscribe('spBv1.0/site/NCMD/+')).toBe(false);
  });

  it('never lets a user publish; reading depends on role and sites', () => {
    const staff = aclFor(
      { kind: 'user', userId: 'u', role: 'staff', sites: ['s1'], jti: undefined, expiresAt: 0 },
      { primaryHostId: 'h' },
    );
    expect(staff.canPublish('bv/s1/x')).toBe(false);
    expect(staff.canSubscribe('bv/s1/#')).toBe(true);
    expect(staff.canSubscribe('bv/s2/#')).toBe(false);
    expect(staff.canSubscribe('bv/+/telemetry/#')).toBe(false);
    expect(staff.canSubscribe('spBv1.0/s1/#')).toBe(false);
    const admin = aclFor(
      { kind: 'user', userId: 'u', role: 'admin', sites: undefined, jti: undefined, expiresAt: 0 },
      { primaryHostId: 'h' },
    );
    expect(admin.canSubscribe('bv/#')).toBe(true);
    expect(admin.canSubscribe('spBv1.0/#')).toBe(true);
    expect(admin.canSubscribe('$SYS/#')).toBe(true);
    expect(admin.canSubscribe('#')).toBe(false);
  });
});
