import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import { eventually } from '../testing/temp.js';
import type { Cache } from './port.js';

export interface CacheFactory {
  /**
   * A cache; caches opened with the same `group` share their data and invalidations (two
   * instances of one deployment). `peer` is set for the second instance of a group; return
   * undefined then when the implementation has no second instance (the in-process cache).
   */
  open(options: { group: string; peer: boolean; registry: Registry }): Promise<Cache | undefined>;
}

export const quietLogger = () => createLogger('cache-test', { level: 'silent' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(registry: Registry, name: string): Promise<number> {
  const json = await registry.getMetricsAsJSON();
  const found = json.find((m) => m.name === name);
  return (found?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}

/** What every implementation of the cache port must do the same way. */
export function describeCacheContract(name: string, factory: CacheFactory): void {
  describe(`cache contract: ${name}`, () => {
    const opened: Cache[] = [];
    let group = 0;
    const open = async (options: { peerOf?: string; registry?: Registry } = {}) => {
      const g = options.peerOf ?? `g${++group}`;
      const registry = options.registry ?? createRegistry();
      const cache = await factory.open({ group: g, peer: options.peerOf !== undefined, registry });
      if (cache) opened.push(cache);
      return { cache, registry, group: g };
    };
    const one = async () => {
      const { cache, registry, group } = await open();
      if (!cache) throw new Error('the factory must open the first cache of a group');
      return { cache, registry, group };
    };

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
    });

    it('stores JSON values and gives each caller its own copy', async () => {
      const { cache } = await one();
      expect(await cache.get('absent')).toBeUndefined();
      const value = { sku: 'A-1', grams: 12.5, tags: ['x'], nested: { ok: true }, none: null };
      await cache.set('k', value, 10_000);
      const got = await cache.get<typeof value>('k');
      expect(got).toEqual(value);
      got?.tags.push('mutated');
      expect(await cache.get('k')).toEqual(value);
      await cache.set('n', 0, 10_000);
      expect(await cache.get('n')).toBe(0);
      await cache.set('d', { at: new Date('2026-01-02T03:04:05.000Z') }, 10_000);
      expect(await cache.get('d')).toEqual({ at: '2026-01-02T03:04:05.000Z' });
    });

    it('deletes one key or several', async () => {
      const { cache } = await one();
      await cache.set('a', 1, 10_000);
      await cache.set('b', 2, 10_000);
      await cache.set('c', 3, 10_000);
      await cache.delete('a');
      await cache.delete(['b', 'c', 'never-set']);
      expect([await cache.get('a'), await cache.get('b'), await cache.get('c')]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    });

    it('forgets an entry once its TTL has passed', async () => {
      const { cache } = await one();
      await cache.set('short', 'v', 150);
      await cache.set('long', 'v', 60_000);
      expect(await cache.get('short')).toBe('v');
      await sleep(400);
      expect(await cache.get('short')).toBeUndefined();
      expect(await cache.get('long')).toBe('v');
    });

    it('stores what getOrLoad loaded, with the TTL as an upper bound (jitter only shortens it)', async () => {
      const { cache } = await one();
      let loads = 0;
      const load = async () => ({ n: ++loads });
      expect(await cache.getOrLoad('ttl', 200, load)).toEqual({ n: 1 });
      expect(await cache.getOrLoad('ttl', 200, load)).toEqual({ n: 1 });
      await sleep(450);
      expect(await cache.getOrLoad('ttl', 200, load)).toEqual({ n: 2 });
      expect(loads).toBe(2);
    });

    it('runs one load for many concurrent misses of a key (single flight)', async () => {
      const { cache, registry } = await one();
      let loads = 0;
      const load = async () => {
        loads++;
        await sleep(100);
        return { sku: 'SF' };
      };
      const results = await Promise.all(
        Array.from({ length: 25 }, () => cache.getOrLoad('sf', 10_000, load)),
      );
      expect(loads).toBe(1);
      expect(results.every((r) => r?.sku === 'SF')).toBe(true);
      expect(await cache.getOrLoad('sf', 10_000, load)).toEqual({ sku: 'SF' });
      expect(loads).toBe(1);
      expect(await metric(registry, 'bv_cache_hits_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(registry, 'bv_cache_misses_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(registry, 'bv_cache_load_seconds')).toBeGreaterThan(0);
    });

    it('does not store undefined, and a failed load reaches every waiter and is not cached', async () => {
      const { cache, registry } = await one();
      expect(await cache.getOrLoad('u', 10_000, async () => undefined)).toBeUndefined();
      expect(await cache.get('u')).toBeUndefined();
      let calls = 0;
      const failing = async () => {
        calls++;
        await sleep(50);
        throw new Error('source down');
      };
      const results = await Promise.allSettled([1, 2, 3].map(() => cache.getOrLoad('f', 10_000, failing)));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(calls).toBe(1);
      expect(await cache.getOrLoad('f', 10_000, async () => 'recovered')).toBe('recovered');
      const errors = await registry.getSingleMetric('bv_cache_errors_total')?.get();
      expect(errors?.values.find((v) => v.labels.operation === 'load')?.value).toBe(1);
    });

    it('does not store a load that an invalidation overtook', async () => {
      const { cache } = await one();
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const slow = cache.getOrLoad('race', 10_000, async () => {
        await gate;
        return 'old';
      });
      await sleep(20);
      await cache.invalidate('race');
      release();
      expect(await slow).toBe('old');
      expect(await cache.get('race')).toBeUndefined();
      expect(await cache.getOrLoad('race', 10_000, async () => 'new')).toBe('new');
    });

    it('refuses a TTL that is not a positive number', async () => {
      const { cache } = await one();
      await expect(cache.set('x', 1, 0)).rejects.toThrow(/TTL/);
      await expect(cache.getOrLoad('x', Number.NaN, async () => 1)).rejects.toThrow(/TTL/);
    });

    it('delivers published messages to every subscriber of the channel until it unsubscribes', async () => {
      const { cache } = await one();
      const a: unknown[] = [];
      const b: unknown[] = [];
      const offA = await cache.subscribe('room', (m) => a.push(m));
      await cache.subscribe('room', (m) => b.push(m));
      await cache.subscribe('other', () => {
        throw new Error('a throwing handler must not break delivery');
      });
      await cache.publish('room', { text: 'hi', n: 1 });
      await cache.publish('other', 'x');
      await eventually(() => a.length === 1 && b.length === 1, 'both subscribers got the message', 5_000);
      expect(a[0]).toEqual({ text: 'hi', n: 1 });
      await offA();
      await cache.publish('room', { text: 'second' });
      await eventually(() => b.length === 2, 'the remaining subscriber got the second message', 5_000);
      await sleep(50);
      expect(a).toHaveLength(1);
    });

    it('answers ping', async () => {
      const { cache } = await one();
      await expect(cache.ping()).resolves.toBeUndefined();
    });

    it('shares entries and invalidations between two instances of one deployment', async () => {
      const first = await one();
      const { cache: peer } = await open({ peerOf: first.group });
      if (!peer) return; // one instance only (in-process): covered by the single-instance cases
      await first.cache.set('shared', { v: 1 }, 10_000);
      expect(await peer.get('shared')).toEqual({ v: 1 });
      await peer.invalidate('shared');
      await eventually(
        async () => (await first.cache.get('shared')) === undefined,
        'the peer invalidation',
        5_000,
      );
      // the other direction, with a load in flight on the peer that the invalidation must stop
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const slow = peer.getOrLoad('race', 10_000, async () => {
        await gate;
        return 'old';
      });
      await sleep(50);
      await first.cache.invalidate('race');
      await sleep(200);
      release();
      expect(await slow).toBe('old');
      expect(await first.cache.get('race')).toBeUndefined();
      // pub/sub reaches the other instance
      const got: unknown[] = [];
      await peer.subscribe('fanout', (m) => got.push(m));
      await first.cache.publish('fanout', { from: 'first' });
      await eventually(() => got.length === 1, 'the peer received the message', 5_000);
    });

    it('keeps two deployments apart', async () => {
      const a = await one();
      const b = await one();
      await a.cache.set('same-key', 'a', 10_000);
      expect(await b.cache.get('same-key')).toBeUndefined();
    });
  });
}
