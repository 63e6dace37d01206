/**
 * The cache port: a key-value cache shared by a process's modules (in-process by default, Redis
 * via ioredis when `REDIS_URL` is set), plus the presence and pub/sub primitives that chat and
 * invalidation need across instances. Both implementations pass `cache/contract.ts`.
 *
 * Values are JSON. Every operation has a time limit; a cache that does not answer is a miss (reads)
 * or a logged, counted failure (writes), never a hung request.
 */
export interface Cache {
  readonly kind: 'memory' | 'redis';
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs: number): Promise<void>;
  delete(keys: string | readonly string[]): Promise<void>;
  /**
   * Cache-aside with single flight: a hit returns the cached value; on a miss one caller per key
   * and process runs `load` while the others wait for its result, which is stored with the TTL
   * (plus jitter). `undefined` from `load` is not stored.
   */
  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Deletes the keys here and on every other instance sharing this cache. */
  invalidate(keys: string | readonly string[]): Promise<void>;
  /** Fan-out messages between instances (Redis pub/sub; in-process: this process only). */
  publish(channel: string, message: unknown): Promise<void>;
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
