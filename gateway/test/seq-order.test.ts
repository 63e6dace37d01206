import { topics } from '@bitv/shared/events';
import { decodePayload } from '@bitv/shared/sparkplug';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import { connect, type TestGateway, testGateway } from './helpers/gateway.js';
import { edgeNode } from './helpers/sparkplug.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-o';

/**
 * #13 item 7, made deterministic: the log confirms a DDATA (bv.telemetry) while the DBIRTH sent
 * before it (bv.device-state) is still held. Subscribers still see the DBIRTH first, on the
 * Sparkplug topics and on the live copies. The same under load, on Kafka and in a cluster:
 * seq-order.kafka.test.ts.
 */
describe('an edge node’s messages in order when the log confirms them out of order', () => {
  let issuer: TokenIssuer;
  let t: TestGateway;
  const log = new ControlledEventLog();

  beforeAll(async () => {
    issuer = await tokenIssuer();
    t = await testGateway({ jwksUrl: issuer.jwksUrl, liveTopics: true }, { eventLog: log });
  });
  afterAll(async () => {
    await t?.close();
    await issuer?.close();
  });

  it('delivers the DBIRTH before the DDATA confirmed first, live copies included', async () => {
    const watcher = await connect(t.gw.mqttUrl, {
      clientId: '',
      username: 'op',
      password: await issuer.user('op', 'operator'),
    });
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => {
      const levels = topic.split('/');
      // no NBIRTH here, so the primary host asks for a rebirth (docs/gateway.md): not the point
      if (levels[2] === 'NCMD') return;
      if (levels[0] === 'spBv1.0') seen.push(`${levels[2]} seq ${decodePayload(payload).seq}`);
      else seen.push(`live ${levels[2]}`);
    });
    await watcher.subscribeAsync([`spBv1.0/${site}/#`, `bv/${site}/#`], { qos: 1 });
    const edge = await connect(t.gw.mqttUrl, {
      clientId: 'gw-o',
      username: 'gw-o',
      password: await issuer.gateway('gw-o', site),
    });
    const node = edgeNode(site, 'gw-o');
    const birth = node.dbirth('shelf-1');
    const data = node.ddata('shelf-1', 2);

    log.hold(topics.deviceState);
    const acked = Promise.all([
      edge.publishAsync(birth.topic, birth.payload, { qos: 1 }),
      edge.publishAsync(data.topic, data.payload, { qos: 1 }),
    ]);
    // the DDATA is durable while its DBIRTH is not
    await eventually(() => log.of(topics.telemetry).length === 1, 'DDATA durable');
    await eventually(() => log.heldCount === 1, 'DBIRTH held');
    log.release();
    await acked;
    await eventually(() => seen.length === 4, 'both messages and both live copies delivered');
    const sparkplug = seen.filter((s) => !s.startsWith('live'));
    const live = seen.filter((s) => s.startsWith('live'));
    console.log(`seq order, log confirming out of order: ${seen.join(', ')}`);
    expect(sparkplug).toEqual(['DBIRTH seq 1', 'DDATA seq 2']);
    expect(live).toEqual(['live state', 'live telemetry']);
    await Promise.all([edge.endAsync(), watcher.endAsync()]);
  });
});
