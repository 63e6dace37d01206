// aedes-persistence-redis ships no types. Its package entry wraps the store in aedes-persistence
// 10's callback adapter, which aedes 1.x (promise-based persistence) cannot drive; the
// promise-based store it wraps is this file, typed here as far as we use it.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis';

  interface AsyncRedisPersistenceOptions {
    conn?: Redis;
    /** Offline messages delivered per CONNECT (default 1000). */
    maxSessionDelivery?: number;
    packetTTL?: (packet: unknown) => number;
  }
  class AsyncRedisPersistence {
    constructor(options?: AsyncRedisPersistenceOptions);
    destroy(): Promise<void>;
    createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
  }
  export = AsyncRedisPersistence;
}

// qlobber ships no types; the cluster's route matcher uses this much of it.
declare module 'qlobber' {
  interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
    match_empty_levels?: boolean;
  }
  export class QlobberDedup {
    constructor(options?: QlobberOptions);
    add(topic: string, value: string): this;
    remove(topic: string, value?: string): this;
    match(topic: string): Set<string>;
  }
}
