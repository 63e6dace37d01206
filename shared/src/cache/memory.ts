import type { Logger } from '../log/index.js';
import { checkTtl, keyList, SingleFlight } from './loads.js';
import { Lru } from './lru.js';
import type { CacheMetrics } from './metrics.js';
import type { Cache } from './port.js';

export interface MemoryCacheOptions {
  logger: Logger;
  metrics: CacheMetrics;
  maxEntries: number;
  jitter: number;
}

/**
 * The embedded cache: a bounded LRU with expiry in this process. "Every other instance" is this
 * process alone, so `invalidate` is a delete and `publish` reaches this process's subscribers.
 */
export class MemoryCache implements Cache {
  readonly kind = 'memory';
  private readonly lru: Lru;
  private readonly flights: SingleFlight;
  private readonly channels = new Map<string, Set<(message: unknown) => void>>();
  private closed = false;

  constructor(private readonly options: MemoryCacheOptions) {
    this.lru = new Lru(options.maxEntries);
    this.flights = new SingleFlight(options.metrics, options.jitter);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = this.lru.get(key);
    if (text === undefined) {
      this.options.metrics.miss();
      return undefined;
    }
    this.options.metrics.hit();
    return JSON.parse(text) as T;
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    const text = JSON.stringify(value);
    // JSON.stringify(undefined) is undefined: nothing to keep (the port never stores undefined)
    if (text === undefined) return;
    this.lru.set(key, text, ttlMs);
  }

  async delete(keys: string | readonly string[]): Promise<void> {
    const list = keyList(keys);
    this.flights.invalidate(list);
    for (const key of list) this.lru.delete(key);
  }

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T | undefined>): Promise<T | undefined> {
    checkTtl(ttlMs);
    const hit = await this.get<T>(key);
    if (hit !== undefined) return hit;
    return this.flights.run(key, ttlMs, load, (value, ttl) => this.set(key, value, ttl));
  }

  invalidate(keys: string | readonly string[]): Promise<void> {
    return this.delete(keys);
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const handlers = this.channels.get(channel);
    if (!handlers) return;
    // the same copy-on-the-wire as Redis: a subscriber never shares the publisher's object
    const text = JSON.stringify(message) ?? 'null';
    for (const handler of [...handlers]) {
      // delivered after publish returns, as a pub/sub message would be
      queueMicrotask(() => this.deliver(channel, handler, JSON.parse(text)));
    }
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    let handlers = this.channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.channels.set(channel, handlers);
    }
    // a wrapper per call, so the same function subscribed twice is two subscriptions
    const entry = (message: unknown) => handler(message);
    handlers.add(entry);
    return async () => {
      handlers.delete(entry);
      if (handlers.size === 0 && this.channels.get(channel) === handlers) this.channels.delete(channel);
    };
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('the cache is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lru.clear();
    this.channels.clear();
  }

  private deliver(channel: string, handler: (message: unknown) => void, message: unknown): void {
    try {
      handler(message);
    } catch (error) {
      this.options.metrics.error('handler');
      this.options.logger.warn(
        { channel, err: (error as Error).message },
        'cache subscriber threw; message dropped',
      );
    }
  }
}
