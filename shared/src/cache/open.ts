import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { dependencyPolicy } from '../resilience/index.js';
import { MemoryCache } from './memory.js';
import { cacheMetrics } from './metrics.js';
import type { Cache } from './port.js';
import { RedisCache } from './redis.js';

export interface CacheOptions {
  /** Redis via ioredis when set (`REDIS_URL`); otherwise the in-process cache. */
  redisUrl?: string;
  logger: Logger;
  metrics: Registry;
  /** The `cache` label on the metrics, and part of the default prefix. */
  name?: string;
  /** Starts every Redis key and channel; one per deployment sharing a Redis (default `bv:<name>:`). */
  prefix?: string;
  /** Limit on every Redis call (default 250 ms: a cache slower than its source is no cache). */
  timeoutMs?: number;
  /** In-process entries kept at most (default 10,000). */
  maxEntries?: number;
  /** The share of a TTL randomly taken off each loaded entry (default 0.1). */
  jitter?: number;
  /** Redis only: how long this process keeps its own copy of what it read (default 0, none). */
  nearTtlMs?: number;
}

export const cacheDefaults = {
  name: 'cache',
  timeoutMs: 250,
  maxEntries: 10_000,
  jitter: 0.1,
  nearTtlMs: 0,
} as const;

/** The cache the environment asks for: Redis when a URL is given, in-process otherwise. */
export async function openCache(options: CacheOptions): Promise<Cache> {
  const o = { ...cacheDefaults, ...options };
  if (!(o.jitter >= 0 && o.jitter < 1))
    throw new RangeError(`cache jitter must be in [0, 1), got ${o.jitter}`);
  const logger = o.logger.child({ component: `cache.${o.name}` });
  const metrics = cacheMetrics(o.metrics, o.name);
  if (!o.redisUrl) return new MemoryCache({ logger, metrics, maxEntries: o.maxEntries, jitter: o.jitter });
  return RedisCache.open({
    url: o.redisUrl,
    logger,
    metrics,
    prefix: o.prefix ?? `bv:${o.name}:`,
    timeoutMs: o.timeoutMs,
    jitter: o.jitter,
    nearTtlMs: o.nearTtlMs,
    nearMaxEntries: o.maxEntries,
    // Every Redis error is the server's or the network's (no answer here is a business refusal), so
    // all count against the breaker; time-based because cache traffic comes in bursts.
    policy: dependencyPolicy(
      {
        name: `redis:${o.name}`,
        timeoutMs: o.timeoutMs,
        breaker: { thresholdRate: 0.5, samplingDurationMs: 10_000, minimumRps: 1, halfOpenAfterMs: 5_000 },
        bulkhead: false,
        isFailure: () => true,
        logger,
      },
      o.metrics,
    ),
  });
}
