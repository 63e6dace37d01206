import { counter, histogram, type Registry } from '../metrics/index.js';

/** The cache's series, labelled by the cache's name so several caches share one registry. */
export interface CacheMetrics {
  hit(): void;
  miss(): void;
  /** Seconds a `getOrLoad` loader ran (the cost a hit saves). */
  loaded(seconds: number): void;
  error(operation: CacheOperation): void;
}

export type CacheOperation =
  | 'get'
  | 'set'
  | 'delete'
  | 'invalidate'
  | 'load'
  | 'publish'
  | 'subscribe'
  | 'decode'
  | 'handler';

export function cacheMetrics(registry: Registry, name: string): CacheMetrics {
  const hits = counter(registry, 'bv_cache_hits_total', 'Cache reads answered from the cache', ['cache']);
  const misses = counter(registry, 'bv_cache_misses_total', 'Cache reads that found nothing (or timed out)', [
    'cache',
  ]);
  const loads = histogram(registry, 'bv_cache_load_seconds', 'Time a cache-aside loader took on a miss', [
    'cache',
  ]);
  const errors = counter(registry, 'bv_cache_errors_total', 'Cache operations that failed or timed out', [
    'cache',
    'operation',
  ]);
  return {
    hit: () => hits.inc({ cache: name }),
    miss: () => misses.inc({ cache: name }),
    loaded: (seconds) => loads.observe({ cache: name }, seconds),
    error: (operation) => errors.inc({ cache: name, operation }),
  };
}
