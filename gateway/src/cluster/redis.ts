import { Readable } from 'node:stream';
import type { Logger } from '@bitv/shared/log';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import { Redis } from 'ioredis';
import type { GatewayMetrics } from '../metrics.js';
import { RoutedEmitter } from './routed-emitter.js';

/** What aedes needs to run as one node of a cluster: a shared store and a shared message bus. */
export interface ClusterBackends {
  persistence: RedisPersistence;
  mq: RoutedEmitter;
  close(): Promise<void>;
}

/**
 * aedes 1.x pipes the retained messages for a new subscription (`stream.pipe(...)`), while this
 * store returns an async generator (its callback adapter used to turn it into a stream).
 */
class RedisPersistence extends AsyncRedisPersistence {
  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(super.createRetainedStreamCombi(patterns));
  }
}

/**
 * Sessions, subscriptions, retained messages, wills and queued QoS 1/2 messages live in Redis
 * (aedes-persistence-redis), so a client with a persistent session finds it, with what was queued
 * for it, on whichever node it reconnects to; messages reach subscribers on other nodes through
 * the routed emitter (only the nodes with a matching subscription get them). Every key and
 * channel starts with `prefix`, so several clusters (or test runs) share a Redis.
 */
export async function redisBackends(
  url: string,
  prefix: string,
  node: { nodeId: string; metrics: GatewayMetrics; logger: Logger },
): Promise<ClusterBackends> {
  const store = watched(new Redis(url, { keyPrefix: prefix, lazyConnect: false }), 'store', node.logger);
  const pub = watched(new Redis(url), 'publisher', node.logger);
  // ioredis >= 5.8.2 delays its ready check behind CLIENT SETINFO; a SUBSCRIBE sent meanwhile puts
  // the connection in subscriber mode and the late INFO fails as an unhandled error
  // (redis/ioredis#2037). Without client info the check runs at once.
  const sub = watched(new Redis(url, { disableClientInfo: true }), 'subscriber', node.logger);
  let mq: RoutedEmitter;
  try {
    mq = await RoutedEmitter.start({ ...node, cluster: { prefix, pub, sub } });
  } catch (error) {
    store.disconnect();
    throw error;
  }
  const persistence = new RedisPersistence({ conn: store });
  return {
    persistence,
    mq,
    async close() {
      // aedes.close() closes the emitter (and its two connections); the store is ours to close
      await persistence.destroy();
    },
  };
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
    logger.warn({ role, err: error.message }, 'Redis connection lost; reconnecting');
  });
  conn.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ role }, 'Redis connection back');
  });
  return conn;
}
