import { commandSubscriptions, deviceTopic, nodeTopic } from '@bitv/shared/sparkplug';
import { describe, expect, it } from 'vitest';
import { aclFor } from '../src/acl/acl.js';
import { topicMatches } from '../src/acl/topics.js';
import { commandFilters } from '../src/bridge/downlink.js';

/** Every filter built from the topic's levels, each level kept or `+`, optionally cut short by `#`. */
function filtersOver(topic: string): string[] {
  const levels = topic.split('/');
  const out: string[] = [];
  const walk = (at: number, built: string[]) => {
    out.push([...built, '#'].join('/'));
    if (at === levels.length) {
      out.push(built.join('/'));
      return;
    }
    walk(at + 1, [...built, levels[at]!]);
    walk(at + 1, [...built, '+']);
  };
  walk(0, []);
  return out;
}

describe('the subscriptions through which an edge node receives its commands', () => {
  const acl = aclFor(
    { kind: 'gateway', edgeNodeId: 'gw-1', groupId: 'site', jti: 'j', expiresAt: Date.now() + 60_000 },
    { primaryHostId: 'bv-cloud' },
  );
  const cases = [
    { topic: nodeTopic('NCMD', 'site', 'gw-1'), filters: commandFilters('site', 'gw-1') },
    {
      topic: deviceTopic('DCMD', 'site', 'gw-1', 'shelf-3'),
      filters: commandFilters('site', 'gw-1', 'shelf-3'),
    },
  ];

  it('are exactly the filters its ACL lets it hold that match the command', () => {
    for (const { topic, filters } of cases) {
      const own = filtersOver(topic).filter((f) => topicMatches(f, topic) && acl.canSubscribe(f));
      expect([...filters].sort()).toEqual([...new Set(own)].sort());
    }
  });

  it("include what the edge agent subscribes to, and no one else's wildcard", () => {
    const [ncmd, dcmd] = commandSubscriptions('site', 'gw-1');
    expect(cases[0]!.filters).toContain(ncmd);
    expect(cases[1]!.filters).toContain(dcmd);
    for (const { filters } of cases) {
      for (const watching of [
        '#',
        'spBv1.0/#',
        'spBv1.0/site/#',
        'spBv1.0/+/NCMD/#',
        'spBv1.0/site/+/gw-1/#',
      ])
        expect(filters).not.toContain(watching);
    }
  });
});
