import { decodeState } from '@bitv/shared/sparkplug';
import { eventually, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import { closed, collect, connect, type TestGateway, testGateway } from './helpers/gateway.js';
import { edgeNode } from './helpers/sparkplug.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-c';

describe.skipIf(!(await serverAvailable('redis')))('two gateway nodes on Redis', () => {
  let issuer: TokenIssuer;
  let a: TestGateway;
  let b: TestGateway;
  const logA = new ControlledEventLog();
  const prefix = `${uniqueName('bvtest')}:`;

  beforeAll(async () => {
    issuer = await tokenIssuer();
    const config = { jwksUrl: issuer.jwksUrl, redisUrl: redisUrl(), redisPrefix: prefix };
    a = await testGateway({ ...config, nodeId: 'node-a' }, { eventLog: logA });
    b = await testGateway({ ...config, nodeId: 'node-b' }, { eventLog: new ControlledEventLog() });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await issuer?.close();
    // leave nothing behind in the shared Redis
    const redis = new Redis(redisUrl());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const gateway = async (node: TestGateway, id: string, extra: object = {}) =>
    connect(node.gw.mqttUrl, {
      clientId: id,
      username: id,
      password: await issuer.gateway(id, site),
      ...extra,
    });

  it('delivers a message published on one node to a subscriber on the other', async () => {
    const operator = await connect(b.gw.mqttUrl, {
      clientId: '',
      username: 'op',
      password: await issuer.user('op', 'operator'),
    });
    const seen = await collect(operator, `spBv1.0/${site}/DDATA/#`);
    const publisher = await gateway(a, 'gw-x');
    const m = edgeNode(site, 'gw-x').ddata('shelf-1', 2);
    await publisher.publishAsync(m.topic, m.payload, { qos: 1 });
    await eventually(() => seen.messages.some((x) => x.topic === m.topic), 'cross-node delivery');
    expect(seen.messages.find((x) => x.topic === m.topic)!.payload.equals(m.payload)).toBe(true);
    await Promise.all([operator.endAsync(), publisher.endAsync()]);
  });

  it('keeps a persistent session and its queued QoS 1 messages when the client moves to the other node', async () => {
    const ncmd = `spBv1.0/${site}/NCMD/gw-s`;
    const first = await gateway(a, 'gw-s', { clean: false });
    await first.subscribeAsync(ncmd, { qos: 1 });
    await first.endAsync();

    // queued while the client is away, published through node A
    for (const n of [1, 2, 3]) {
      await new Promise<void>((resolve, reject) =>
        a.gw.broker.publish(
          {
            cmd: 'publish',
            topic: ncmd,
            payload: Buffer.from(`command ${n}`),
            qos: 1,
            retain: false,
            dup: false,
          },
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    }

    const received: string[] = [];
    const second = await gateway(b, 'gw-s', {
      clean: false,
      // mqtt.js must not resubscribe: the session on node B must come from Redis
      resubscribe: false,
    });
    second.on('message', (_topic, payload) => received.push(payload.toString()));
    expect(second.connected).toBe(true);
    await eventually(() => received.length >= 3, 'queued messages on the other node');
    expect(received).toEqual(['command 1', 'command 2', 'command 3']);

    // and a live one, still through node A, reaches it on node B
    a.gw.broker.publish(
      { cmd: 'publish', topic: ncmd, payload: Buffer.from('live'), qos: 1, retain: false, dup: false },
      () => undefined,
    );
    await eventually(() => received.includes('live'), 'live message via the restored subscription');
    await second.endAsync();
  });

  it('closes the old connection when the same client id connects to the other node', async () => {
    const onA = await gateway(a, 'gw-t', { clean: false });
    const gone = closed(onA);
    const onB = await gateway(b, 'gw-t', { clean: false });
    await gone;
    expect(onB.connected).toBe(true);
    await onB.endAsync();
  });

  it("tells each node's clients that node's own bridge state", async () => {
    const onA = await gateway(a, 'gw-ua');
    const onB = await gateway(b, 'gw-ub');
    const states = { a: [] as boolean[], b: [] as boolean[] };
    onA.on('message', (_t, p) => states.a.push(decodeState(p).online));
    onB.on('message', (_t, p) => states.b.push(decodeState(p).online));
    await onA.subscribeAsync('spBv1.0/STATE/bv-cloud', { qos: 1 });
    await onB.subscribeAsync('spBv1.0/STATE/bv-cloud', { qos: 1 });
    await eventually(
      () => states.a.at(-1) === true && states.b.at(-1) === true,
      'retained STATE online on both',
    );
    logA.down = true;
    try {
      await eventually(() => states.a.at(-1) === false, 'node A offline', 15_000);
      // node B's clients heard the change too, rewritten with node B's own (healthy) state
      await eventually(() => states.b.length >= 2, 'node B forwarded the change');
      expect(states.b.every((online) => online)).toBe(true);
    } finally {
      logA.down = false;
    }
    await eventually(() => states.a.at(-1) === true, 'node A online again', 15_000);
    await Promise.all([onA.endAsync(), onB.endAsync()]);
  });
});
