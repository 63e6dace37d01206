import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../cache/open.js';
import type { Cache } from '../cache/port.js';
import { silentLogger } from '../log/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import { FaultProxy } from '../testing/fault-proxy/index.js';
import { redisUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';

const available = await serverAvailable('redis');

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const { values } = (await registry.getSingleMetric(name)?.get()) ?? { values: [] };
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

/**
 * The cache's Redis breaker on a real Redis behind the fault proxy: a black hole opens it (reads
 * become misses without waiting for the timeout), and once the network heals it closes again.
 */
describe.skipIf(!available)('Redis cache behind a black hole (real Redis, fault proxy)', () => {
  let proxy: FaultProxy;
  let cache: Cache;
  const registry = createRegistry();
  const dependency = { dependency: 'redis:chaos' };

  beforeAll(async () => {
    const target = new URL(redisUrl());
    proxy = await FaultProxy.start({ upstream: `${target.hostname}:${target.port || 6379}`, name: 'redis' });
    cache = await openCache({
      redisUrl: `redis://${proxy.address}`,
      logger: silentLogger,
      metrics: registry,
      name: 'chaos',
      prefix: `${uniqueName('bvchaos')}:`,
      timeoutMs: 100,
    });
  });
  afterAll(async () => {
    await cache?.close();
    await proxy?.close();
  });

  it('opens on failures (closed connections, timeouts), answers misses at once while open, and closes after the network heals', async () => {
    await cache.set('k', 'v', 60_000);
    expect(await cache.get('k')).toBe('v');

    // A black hole that closes each connection after 500 ms, as Toxiproxy's `timeout` toxic does. (A
    // hole that never closes loses the commands' bytes, after which the reply stream no longer
    // matches ioredis's queue: a real partition retransmits instead.)
    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 500 } });
    // bounded: the breaker needs >= 10 calls in its 10 s window, half of them failed
    for (let i = 0; i < 40 && (await value(registry, 'bv_dependency_breaker_state', dependency)) !== 2; i++) {
      expect(await cache.get('k')).toBeUndefined();
    }
    expect(await value(registry, 'bv_dependency_breaker_state', dependency)).toBe(2);
    expect(await cache.get('k')).toBeUndefined();
    expect(
      await value(registry, 'bv_dependency_calls_total', { ...dependency, outcome: 'rejected_open' }),
    ).toBeGreaterThan(0);
    const timeouts = await value(registry, 'bv_dependency_timeouts_total', dependency);
    const failures = await value(registry, 'bv_dependency_calls_total', {
      ...dependency,
      outcome: 'failure',
    });

    // Heal: connections still open in the hole lost bytes for good (a real partition would have
    // retransmitted them), so they are reset with the toxic's removal; new ones pass clean.
    await proxy.disable();
    proxy.removeToxic('timeout_upstream');
    await proxy.enable();
    // the trial call is allowed after halfOpenAfterMs (5 s); until then reads stay misses
    let back: unknown;
    for (let i = 0; i < 80 && back === undefined; i++) {
      back = await cache.get('k');
      if (back === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe('v');
    expect(await value(registry, 'bv_dependency_breaker_state', dependency)).toBe(0);
    console.log(
      `redis chaos: ${failures} failed reads, ${timeouts} timeouts, ${await value(registry, 'bv_dependency_calls_total', { ...dependency, outcome: 'rejected_open' })} reads refused while open, breaker open -> closed`,
    );
  }, 30_000);
});
