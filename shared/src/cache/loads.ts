import type { CacheMetrics } from './metrics.js';

/**
 * Single flight for cache-aside: one load per key and process at a time, the other callers wait
 * for its result. A load that an invalidation overtakes (the data changed while it was reading)
 * returns its value to its callers but does not store it, so a stale read never outlives the
 * change that made it stale; the next caller starts a fresh load.
 */
export class SingleFlight {
  private readonly flights = new Map<string, { promise: Promise<unknown>; stale: boolean }>();

  constructor(
    private readonly metrics: CacheMetrics,
    private readonly jitter: number,
  ) {}

  run<T>(
    key: string,
    ttlMs: number,
    load: () => Promise<T | undefined>,
    store: (value: T, ttlMs: number) => Promise<void>,
  ): Promise<T | undefined> {
    const current = this.flights.get(key);
    if (current) return current.promise as Promise<T | undefined>;
    const flight = { promise: Promise.resolve<unknown>(undefined), stale: false };
    flight.promise = (async () => {
      const started = performance.now();
      try {
        const value = await load();
        this.metrics.loaded((performance.now() - started) / 1000);
        if (value !== undefined && !flight.stale) await store(value, this.jittered(ttlMs));
        return value;
      } catch (error) {
        this.metrics.error('load');
        throw error;
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    this.flights.set(key, flight);
    return flight.promise as Promise<T | undefined>;
  }

  /** The keys changed: loads in flight for them must not store what they read. */
  invalidate(keys: readonly string[]): void {
    for (const key of keys) {
      const flight = this.flights.get(key);
      if (!flight) continue;
      flight.stale = true;
      this.flights.delete(key);
    }
  }

  /**
   * Entries loaded together would all expire together and stampede the source together; each
   * gets up to `jitter` of its TTL taken off, never added, so a TTL is still an upper bound.
   */
  private jittered(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 - Math.random() * this.jitter)));
  }
}

export function keyList(keys: string | readonly string[]): readonly string[] {
  return typeof keys === 'string' ? [keys] : keys;
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`a cache TTL must be a positive number of ms, got ${ttlMs}`);
}
