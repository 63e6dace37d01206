import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { openRabbitQueue, type Queue, type Subscription } from '@bitv/shared/queue';
import { dependencyPolicy } from '@bitv/shared/resilience';
import { amqpUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { FaultProxy } from '@bitv/shared/testing/fault-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakerLine, heal, pause, proxyLine, until } from './chaos-harness.js';

const available = await serverAvailable('rabbitmq');

/**
 * Chaos between a publisher/consumer and RabbitMQ (real, 127.0.0.1:5672) through the fault proxy:
 * added latency, a connection reset, the connection killed while deliveries are in flight (held
 * unacked by the consumer), and a black hole that opens the publisher's breaker. The publisher is
 * at-least-once (a message whose publish was not confirmed is published again after the heal), the
 * consumer acks after handling. Afterwards: every message received (0 lost), duplicates counted,
 * the breaker opened and closed again.
 */
describe.skipIf(!available)('chaos: RabbitMQ through the fault proxy', () => {
  let proxy: FaultProxy;
  let queue: Queue;
  let subscription: Subscription | undefined;
  const name = uniqueName('bv-chaos');
  const registry = createRegistry();
  const received = new Map<string, number>();
  const published = new Set<string>();
  /** Ids whose publish was not confirmed: published again once the broker is reachable. */
  const unconfirmed = new Set<string>();
  /** While set, the consumer holds each delivery unacked (deliveries in flight when the connection dies). */
  let holding: Array<() => void> | undefined;
  const policy = dependencyPolicy(
    {
      name: 'rabbitmq',
      timeoutMs: 1_500,
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
      bulkhead: { limit: 32, queue: 256 },
    },
    registry,
  );

  const send = async (id: string) => {
    published.add(id);
    try {
      await policy.execute(() => queue.publish(name, { id }, { id }));
      unconfirmed.delete(id);
    } catch {
      // timed out, refused by the open breaker (UnavailableError) or the connection died: the
      // broker may not have it, so it is published again later (at-least-once)
      unconfirmed.add(id);
    }
  };
  const lost = () => [...published].filter((id) => !received.has(id));

  beforeAll(async () => {
    const target = new URL(amqpUrl());
    proxy = await FaultProxy.start({
      upstream: `${target.hostname}:${target.port || 5672}`,
      name: 'rabbitmq',
    });
    const url = new URL(amqpUrl());
    url.host = proxy.address;
    queue = await openRabbitQueue({
      url: url.toString(),
      logger: silentLogger,
      metrics: registry,
      timeoutMs: 2_000,
      failureDelayMs: 100,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    await queue.declare(name, { maxAttempts: 50 });
    subscription = await queue.consume(
      name,
      async (delivery) => {
        const { id } = delivery.payload as { id: string };
        received.set(id, (received.get(id) ?? 0) + 1);
        if (holding) await new Promise<void>((resolve) => holding?.push(resolve));
        await delivery.ack();
      },
      { prefetch: 16 },
    );
  });
  afterAll(async () => {
    for (const release of holding ?? []) release();
    await subscription?.close().catch(() => undefined);
    await queue?.remove(name).catch(() => undefined);
    await queue?.close();
    await proxy?.close();
  });

  it('loses nothing through latency, resets, a killed connection and a black hole; the breaker opens and closes', async () => {
    // 1. calm
    for (let i = 0; i < 50; i++) await send(`calm-${i}`);
    expect(await until(() => lost().length === 0)).toBe(true);

    // 2. latency both ways
    proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 150, jitter: 50 } });
    proxy.addToxic({ type: 'latency', stream: 'upstream', attributes: { latency: 150, jitter: 50 } });
    await Promise.all(Array.from({ length: 30 }, (_, i) => send(`slow-${i}`)));
    proxy.clearToxics();

    // 3. the connection killed mid-delivery: 20 deliveries held unacked, then every connection reset
    holding = [];
    const heldBatch = Array.from({ length: 20 }, (_, i) => `held-${i}`);
    for (const id of heldBatch) await send(id);
    expect(await until(() => (holding?.length ?? 0) >= 10)).toBe(true);
    const inFlight = holding.length;
    proxy.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } });
    expect(await until(() => proxy.stats().resets > 0)).toBe(true);
    proxy.removeToxic('reset_peer_downstream');
    const release = holding;
    holding = undefined;
    for (const r of release) r(); // their acks go to a dead channel: the broker redelivers them

    // 4. a black hole (connections closed after 1 s, as Toxiproxy's timeout toxic does): publishes
    // time out, the breaker opens and refuses at once; healed, it closes again
    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 1_000 } });
    let refusedFast = 0;
    for (let i = 0; i < 12; i++) {
      await send(`hole-${i}`);
      if (policy.state === 'open') refusedFast++;
    }
    expect(policy.transitions.open).toBeGreaterThanOrEqual(1);
    await heal(proxy, 'timeout_upstream');

    // 5. the publisher's catch-up: unconfirmed messages published again (at-least-once)
    expect(
      await until(async () => {
        for (const id of [...unconfirmed]) {
          await send(id);
          if (policy.state === 'open') break;
        }
        if (unconfirmed.size > 0) await pause(200);
        return unconfirmed.size === 0;
      }, 150),
    ).toBe(true);
    for (let i = 0; i < 10; i++) await send(`after-${i}`);

    expect(await until(() => lost().length === 0, 300)).toBe(true);
    const duplicates = [...received.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      [
        `rabbitmq chaos: ${published.size} published, ${received.size} received, lost ${lost().length}, duplicates ${duplicates} (at-least-once)`,
        `  ${inFlight} deliveries in flight when the connection was reset; ${refusedFast} publishes answered by the open breaker`,
        `  ${breakerLine(policy)}`,
        `  ${proxyLine(proxy)}`,
      ].join('\n'),
    );
    expect(lost()).toEqual([]);
    expect(policy.transitions.open).toBeGreaterThanOrEqual(1);
    expect(policy.transitions.closed).toBeGreaterThanOrEqual(1);
    expect(policy.state).toBe('closed');
    // what the held batch shows: every held delivery came back after the reset
    for (const id of heldBatch) expect(received.get(id)).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
