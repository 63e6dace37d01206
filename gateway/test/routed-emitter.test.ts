import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { eventually, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { Redis } from 'ioredis';
import type mqemitter from 'mqemitter';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeClusterPacket, encodeClusterPacket } from '../src/cluster/packet-codec.js';
import { RoutedEmitter } from '../src/cluster/routed-emitter.js';
import { gatewayMetrics } from '../src/metrics.js';
import { metricValue } from './helpers/gateway.js';

describe('cluster packet codec', () => {
  it('round-trips an aedes packet, payload bytes as they are', () => {
    const payload = Buffer.from([0, 1, 2, 255, 0x7b]);
    const packet = {
      cmd: 'publish',
      topic: 'spBv1.0/g/NCMD/e',
      payload,
      qos: 1,
      retain: false,
      dup: false,
      brokerId: 'node-a',
      brokerCounter: 42,
    };
    const back = decodeClusterPacket(encodeClusterPacket(packet)) as typeof packet;
    expect(back).toEqual(packet);
    expect(Buffer.isBuffer(back.payload)).toBe(true);
  });

  it('refuses what is not a packet', () => {
    for (const bad of [
      Buffer.alloc(2),
      Buffer.from([0, 0, 0, 99, 1]),
      Buffer.from('\u0000\u0000\u0000\u0002{}'),
    ]) {
      expect(() => decodeClusterPacket(bad)).toThrow();
    }
  });
});

describe('routed emitter on one node (no cluster)', () => {
  it('delivers in process and knows its subscriptions', async () => {
    const e = await RoutedEmitter.start({
      nodeId: 'solo',
      metrics: gatewayMetrics(createRegistry()),
      logger: silentLogger,
    });
    const got: string[] = [];
    const listener = (m: mqemitter.Message, done: () => void) => {
      got.push(m.topic);
      done();
    };
    await new Promise<void>((r) => e.on('spBv1.0/g/NCMD/e1', listener, r));
    expect(e.hasRoute('spBv1.0/g/NCMD/e1')).toBe(true);
    expect(e.hasRoute('spBv1.0/g/NCMD/e2')).toBe(false);
    expect(e.hasRoute('spBv1.0/g/NCMD/+')).toBe(false);
    await new Promise<void>((r) =>
      e.emit({ topic: 'spBv1.0/g/NCMD/e1', payload: Buffer.alloc(0) }, () => r()),
    );
    expect(got).toEqual(['spBv1.0/g/NCMD/e1']);
    await new Promise<void>((r) => e.removeListener('spBv1.0/g/NCMD/e1', listener, r));
    expect(e.hasRoute('spBv1.0/g/NCMD/e1')).toBe(false);
    await new Promise<void>((r) => e.close(r));
  });
});

describe('joining a cluster', () => {
  it('fails the start with a clear error when Redis does not answer', async () => {
    // a port nothing listens on: ioredis keeps retrying (each attempt an 'error'), the join times out
    const nowhere = () => new Redis('redis://127.0.0.1:1').on('error', () => undefined);
    const start = RoutedEmitter.start(
      {
        nodeId: 'lonely',
        cluster: {
          prefix: 'x:',
          pub: nowhere(),
          sub: nowhere(),
        },
        metrics: gatewayMetrics(createRegistry()),
        logger: silentLogger,
      },
      300,
    );
    await expect(start).rejects.toThrow(/cluster: joining the cluster through Redis timed out/);
  });
});

describe.skipIf(!(await serverAvailable('redis')))('routed cluster emitter on Redis', () => {
  const prefix = `${uniqueName('bvroute')}:`;
  const open: RoutedEmitter[] = [];
  const connections: Redis[] = [];
  afterAll(async () => {
    for (const e of open) await new Promise<void>((r) => e.close(r));
    const redis = new Redis(redisUrl());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    for (const c of connections) c.disconnect();
  });

  const node = async (
    nodeId: string,
  ): Promise<{ e: RoutedEmitter; registry: Registry; pub: Redis; sub: Redis }> => {
    const registry = createRegistry();
    const pub = new Redis(redisUrl());
    const sub = new Redis(redisUrl(), { disableClientInfo: true });
    connections.push(pub, sub);
    const e = await RoutedEmitter.start({
      nodeId,
      cluster: { prefix, pub, sub },
      metrics: gatewayMetrics(registry),
      logger: silentLogger,
      nodeTtlMs: 1_500,
    });
    open.push(e);
    return { e, registry, pub, sub };
  };
  const forwards = (registry: Registry) => metricValue(registry, 'bv_gateway_cluster_forwards_total');
  const listen = (e: RoutedEmitter, filter: string) => {
    const got: mqemitter.Message[] = [];
    const listener = (m: mqemitter.Message, done: () => void) => {
      got.push(m);
      done();
    };
    return new Promise<{ got: mqemitter.Message[]; stop: () => Promise<void> }>((resolve) =>
      e.on(filter, listener, () =>
        resolve({ got, stop: () => new Promise<void>((r) => e.removeListener(filter, listener, r)) }),
      ),
    );
  };
  const emit = (e: RoutedEmitter, topic: string, text = topic) =>
    new Promise<void>((resolve, reject) =>
      e.emit({ topic, payload: Buffer.from(text), qos: 1 }, (error) => (error ? reject(error) : resolve())),
    );

  it('forwards only to the nodes with a matching subscription, and stops when it goes', async () => {
    const a = await node('a');
    const b = await node('b');
    const onB = await listen(b.e, 'site/+/DDATA/#');
    await eventually(async () => {
      await emit(a.e, 'site/x/DDATA/gw/shelf', 'first');
      return onB.got.length > 0;
    }, 'a message from a to a subscriber on b');
    expect(onB.got[0]?.payload.toString()).toBe('first');
    const sent = await forwards(a.registry);
    expect(sent).toBeGreaterThan(0);

    // no subscriber anywhere: served locally (nobody), nothing goes to Redis
    await emit(a.e, 'elsewhere/topic');
    // a subscriber on the publishing node itself: in process
    const onA = await listen(a.e, 'local/#');
    await emit(a.e, 'local/1');
    expect(onA.got.map((m) => m.topic)).toEqual(['local/1']);
    expect(await forwards(a.registry)).toBe(sent);

    expect(a.e.hasRoute('site/+/DDATA/#')).toBe(true);
    expect(a.e.hasRoute('local/#')).toBe(true);
    expect(a.e.hasRoute('site/x/DDATA/gw/shelf')).toBe(false);
    await onB.stop();
    await eventually(() => !a.e.hasRoute('site/+/DDATA/#'), "b's route gone from a");
    await eventually(async () => {
      const before = await forwards(a.registry);
      await emit(a.e, 'site/x/DDATA/gw/shelf');
      return (await forwards(a.registry)) === before;
    }, 'a to stop forwarding once b unsubscribed');
  });

  it("a node that joins later learns the existing routes; a dead node's routes expire", async () => {
    const d = await node('d');
    const onD = await listen(d.e, 'late/#');
    const c = await node('c');
    await emit(c.e, 'late/1');
    await eventually(() => onD.got.length === 1, 'c forwards to d from the routes it loaded');

    // d dies without leaving (its connections cut): its liveness key expires, c drops its routes
    d.pub.disconnect();
    d.sub.disconnect();
    await eventually(
      async () => {
        const before = await forwards(c.registry);
        await emit(c.e, 'late/2');
        return (await forwards(c.registry)) === before;
      },
      'c to drop the routes of the dead node',
      10_000,
    );
  });

  it('counts and drops an undecodable packet from another node, and carries on', async () => {
    const e = await node('e');
    const onE = await listen(e.e, 'ok/#');
    const before = await metricValue(e.registry, 'bv_gateway_dropped_total', { reason: 'cluster_packet' });
    const raw = new Redis(redisUrl());
    connections.push(raw);
    await raw.publish(`${prefix}node:e`, Buffer.from([0, 0, 0, 200, 1, 2]));
    const f = await node('f');
    await eventually(async () => {
      await emit(f.e, 'ok/1');
      return onE.got.length > 0;
    }, 'e still receiving');
    expect(await metricValue(e.registry, 'bv_gateway_dropped_total', { reason: 'cluster_packet' })).toBe(
      before + 1,
    );
  });
});
