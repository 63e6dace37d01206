import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TimeoutError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { DependencyPolicy } from '../resilience/index.js';
import { checkTtl, keyList, SingleFlight } from './loads.js';
import { Lru } from './lru.js';
import type { CacheMetrics, CacheOperation } from './metrics.js';
import type { Cache } from './port.js';

export interface RedisCacheOptions {
  url: string;
  logger: Logger;
  metrics: CacheMetrics;
  /** Starts every key and channel, so several deployments (or test runs) share one Redis. */
  prefix: string;
  /** The limit on every Redis call; past it a read is a miss and a write a counted failure. */
  timeoutMs: number;
  jitter: number;
  /**
   * A copy of what this process read from Redis, kept this long (0: none) and dropped on every
   * instance by `invalidate`. Peers' `set`s are not announced, so a near copy may lag a peer's
   * `set` by up to this long, never a peer's `invalidate`.
   */
  nearTtlMs: number;
  nearMaxEntries: number;
  /**
   * Every Redis call runs under it: its timeout is `timeoutMs`, and its breaker turns a Redis that
   * stopped answering into immediate misses instead of one `timeoutMs` wait per read.
   */
  policy: DependencyPolicy;
}

interface Invalidation {
  from: string;
  keys: string[];
}

/**
 * The production cache: Redis via ioredis (5.x speaks RESP2 unless told otherwise, which is what
 * this code expects). Two connections, one for commands and one in subscriber mode, because a
 * subscribed connection accepts nothing else. Invalidations travel on one channel under the
 * prefix; each instance drops its near copies and stops its loads in flight for those keys.
 */
export class RedisCache implements Cache {
  readonly kind = 'redis';
  private readonly id = randomUUID();
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly flights: SingleFlight;
  private readonly near: Lru | undefined;
  private readonly invalidationChannel: string;
  private readonly channels = new Map<string, Set<(message: unknown) => void>>();

  private constructor(private readonly options: RedisCacheOptions) {
    const base = {
      connectTimeout: Math.max(options.timeoutMs, 2_000),
      commandTimeout: options.timeoutMs,
      // a command queued while Redis is away fails at the next failed reconnect instead of waiting
      // for Redis to come back: callers have moved on after `timeoutMs` anyway
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    };
    this.commands = watched(new Redis(options.url, base), 'commands', options.logger);
    // ioredis >= 5.8.2 delays its ready check behind CLIENT SETINFO; a SUBSCRIBE sent meanwhile puts
    // the connection in subscriber mode and the late INFO fails (redis/ioredis#2037).
    this.subscriber = watched(
      new Redis(options.url, { ...base, commandTimeout: undefined, disableClientInfo: true }),
      'subscriber',
      options.logger,
    );
    this.flights = new SingleFlight(options.metrics, options.jitter);
    this.near = options.nearTtlMs > 0 ? new Lru(options.nearMaxEntries) : undefined;
    this.invalidationChannel = `${options.prefix}invalidate`;
    this.subscriber.on('message', (channel: string, text: string) => this.received(channel, text));
  }

  /**
   * Connects and subscribes to invalidations. A Redis that does not answer in time is logged and
   * left to ioredis's reconnects: the process starts, reads are misses until Redis is back.
   */
  static async open(options: RedisCacheOptions): Promise<RedisCache> {
    const cache = new RedisCache(options);
    try {
      await cache.within('subscribe', Promise.all([cache.commands.connect(), cache.subscriber.connect()]));
      await cache.within('subscribe', cache.subscriber.subscribe(cache.invalidationChannel));
    } catch (error) {
      options.logger.warn(
        { err: (error as Error).message },
        'Redis cache not reachable at start; reads are misses until it answers',
      );
    }
    return cache;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const near = this.near?.get(key);
    if (near !== undefined) {
      this.options.metrics.hit();
      return JSON.parse(near) as T;
    }
    let text: string | null;
    try {
      text = await this.within('get', this.commands.get(this.options.prefix + key));
    } catch {
      // counted and logged by `within`: an unanswered read is a miss
      text = null;
    }
    if (text === null) {
      this.options.metrics.miss();
      return undefined;
    }
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      this.options.metrics.error('decode');
      this.options.metrics.miss();
      return undefined;
    }
    this.options.metrics.hit();
    this.near?.set(key, text, this.options.nearTtlMs);
    return value;
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    const text = JSON.stringify(value);
    if (text === undefined) return;
    const ttl = Math.max(1, Math.round(ttlMs));
    this.near?.set(key, text, Math.min(ttl, this.options.nearTtlMs));
    try {
      await this.within('set', this.commands.set(this.options.prefix + key, text, 'PX', ttl));
    } catch {
      // counted and logged by `within`: a write that fails leaves a miss, which is safe
    }
  }

  async delete(keys: string | readonly string[]): Promise<void> {
    const list = keyList(keys);
    if (list.length === 0) return;
    this.dropLocal(list);
    try {
      await this.within('delete', this.commands.del(...list.map((key) => this.options.prefix + key)));
    } catch {
      // counted and logged by `within`; the entries still expire by their TTL
    }
  }

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T | undefined>): Promise<T | undefined> {
    checkTtl(ttlMs);
    const hit = await this.get<T>(key);
    if (hit !== undefined) return hit;
    return this.flights.run(key, ttlMs, load, (value, ttl) => this.set(key, value, ttl));
  }

  async invalidate(keys: string | readonly string[]): Promise<void> {
    const list = [...keyList(keys)];
    if (list.length === 0) return;
    await this.delete(list);
    const message: Invalidation = { from: this.id, keys: list };
    try {
      await this.within(
        'invalidate',
        this.commands.publish(this.invalidationChannel, JSON.stringify(message)),
      );
    } catch {
      // counted and logged by `within`; peers' near copies then live out their (short) TTL
    }
  }

  async publish(channel: string, message: unknown): Promise<void> {
    // a sender must know its message was not sent (chat tells the user), so this one throws
    await this.within(
      'publish',
      this.commands.publish(this.channelName(channel), JSON.stringify(message) ?? 'null'),
    );
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    let handlers = this.channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.channels.set(channel, handlers);
      try {
        await this.within('subscribe', this.subscriber.subscribe(this.channelName(channel)));
      } catch (error) {
        this.channels.delete(channel);
        throw error;
      }
    }
    const entry = (message: unknown) => handler(message);
    handlers.add(entry);
    return async () => {
      handlers.delete(entry);
      if (handlers.size > 0 || this.channels.get(channel) !== handlers) return;
      this.channels.delete(channel);
      try {
        await this.within('subscribe', this.subscriber.unsubscribe(this.channelName(channel)));
      } catch {
        // counted and logged; messages still arriving find no handler and are ignored
      }
    };
  }

  async ping(): Promise<void> {
    await this.within('get', this.commands.ping());
  }

  async close(): Promise<void> {
    this.channels.clear();
    this.near?.clear();
    await Promise.all([quit(this.commands), quit(this.subscriber)]);
  }

  private channelName(channel: string): string {
    return `${this.options.prefix}ch:${channel}`;
  }

  private dropLocal(keys: readonly string[]): void {
    this.flights.invalidate(keys);
    if (this.near) for (const key of keys) this.near.delete(key);
  }

  private received(channel: string, text: string): void {
    if (channel === this.invalidationChannel) {
      const message = decodeInvalidation(text);
      if (!message) {
        this.options.metrics.error('decode');
        this.options.logger.warn({ channel }, 'malformed cache invalidation dropped');
        return;
      }
      if (message.from !== this.id) this.dropLocal(message.keys);
      return;
    }
    const name = channel.slice(`${this.options.prefix}ch:`.length);
    const handlers = this.channels.get(name);
    if (!handlers) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.options.metrics.error('decode');
      this.options.logger.warn({ channel: name }, 'undecodable pub/sub message dropped');
      return;
    }
    for (const handler of handlers) {
      try {
        handler(message);
      } catch (error) {
        this.options.metrics.error('handler');
        this.options.logger.warn(
          { channel: name, err: (error as Error).message },
          'cache subscriber threw; message dropped',
        );
      }
    }
  }

  private async within<T>(operation: CacheOperation, work: Promise<T>): Promise<T> {
    // handled at once: when the breaker refuses, or the timeout wins, nobody else waits for `work`
    work.catch(() => undefined);
    try {
      // ioredis cannot cancel a sent command; the signal only bounds how long we wait for it
      return await this.options.policy.execute(() => work);
    } catch (error) {
      this.options.metrics.error(operation);
      this.options.logger.debug({ operation, err: (error as Error).message }, 'Redis cache call failed');
      if (error instanceof TimeoutError) {
        throw new TimeoutError(`Redis ${operation} took longer than ${this.options.timeoutMs} ms`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

function decodeInvalidation(text: string): Invalidation | undefined {
  try {
    const value = JSON.parse(text) as Partial<Invalidation>;
    if (typeof value.from !== 'string' || !Array.isArray(value.keys)) return undefined;
    if (!value.keys.every((key) => typeof key === 'string')) return undefined;
    return { from: value.from, keys: value.keys };
  } catch {
    return undefined;
  }
}

async function quit(conn: Redis): Promise<void> {
  if (conn.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const quitting = conn.quit();
  // when the timer wins, disconnect() below rejects QUIT ("Connection is closed."): not unhandled
  quitting.catch(() => undefined);
  try {
    await Promise.race([
      quitting,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('quit timed out')), 1_000);
      }),
    ]);
  } catch {
    // a Redis that does not answer QUIT is dropped: closing must not hang
    conn.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * ioredis reconnects by itself and emits an error per failed attempt; without a listener each is
 * printed as "Unhandled error event". Logged once per outage instead, and once when it is back.
 */
function watched(conn: Redis, role: string, logger: Logger): Redis {
  let down = false;
  conn.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ role, err: error.message }, 'Redis cache connection lost; reconnecting');
  });
  conn.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ role }, 'Redis cache connection back');
  });
  return conn;
}
