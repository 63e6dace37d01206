import { UnavailableError, withTimeout } from '@bitv/shared/errors';
import type { Logger } from '@bitv/shared/log';
import type { Redis } from 'ioredis';
import mqemitter from 'mqemitter';
import { QlobberDedup } from 'qlobber';
import type { GatewayMetrics } from '../metrics.js';
import { decodeClusterPacket, encodeClusterPacket } from './packet-codec.js';

type Message = mqemitter.Message;
type Listener = (message: Message, done: () => void) => void;

export interface ClusterLink {
  /** Start of every key and channel. */
  prefix: string;
  /** Commands and PUBLISH; a connection of its own. */
  pub: Redis;
  /** SUBSCRIBE only (subscriber mode). */
  sub: Redis;
}

export interface RoutedEmitterOptions {
  nodeId: string;
  /** The other nodes, through Redis; without it the bus is this node's alone. */
  cluster?: ClusterLink;
  metrics: GatewayMetrics;
  logger: Logger;
  /** A node that has not refreshed its liveness key for this long is gone: its routes are dropped. */
  nodeTtlMs?: number;
  /** Most packets to other nodes waiting for Redis; beyond it `emit` waits for them. */
  maxPendingForwards?: number;
}

const matcherOptions = { separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true };
/** What a match finds when no other node has routes. */
const noTargets: ReadonlySet<string> = new Set();

/**
 * aedes' message bus. It knows which subscriptions exist (`hasRoute`: the downlink reports a
 * command nobody can receive instead of losing it), and in a cluster forwards a message only to the nodes that have a
 * subscription matching it, the way clustered brokers route (a routing table), instead of
 * sending every PUBLISH through Redis pub/sub and back (mqemitter-redis: a Redis round trip per
 * message before the PUBACK, and every node decoding every message). Local subscribers are served
 * in process.
 *
 * Routes: each node keeps the filters of its local subscriptions in a Redis hash
 * (`<prefix>routes:<node>`) and announces changes on `<prefix>routes`; every node holds the others'
 * filters in a matcher, loaded at start and kept current by the announcements. A filter is
 * announced before `on()` calls back (aedes sends the SUBACK then), so a message published on
 * another node after that reaches it once the announcement has arrived there: a window of one
 * Redis pub/sub hop, as in any routed cluster. Liveness: `<prefix>alive:<node>` with a TTL,
 * refreshed; the routes of a node whose key expired are dropped by the others.
 */
export class RoutedEmitter {
  readonly #opts: Required<Omit<RoutedEmitterOptions, 'cluster'>>;
  readonly #cluster: ClusterLink | undefined;
  readonly #local = mqemitter({ concurrency: 100, matchEmptyLevels: true }); // aedes' own defaults [MQTT-4.7.1-3]
  /** Filter -> local listeners on it; a filter is routed to this node while it has any. */
  readonly #filters = new Map<string, number>();
  /** Other nodes' filters. */
  readonly #remote = new QlobberDedup(matcherOptions);
  readonly #remoteFilters = new Map<string, Set<string>>();
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: RoutedEmitterOptions) {
    const { cluster, ...rest } = options;
    this.#opts = { nodeTtlMs: 15_000, maxPendingForwards: 10_000, ...rest };
    this.#cluster = cluster;
  }

  /** Joins the cluster; a Redis that does not answer within `joinTimeoutMs` fails the start. */
  static async start(options: RoutedEmitterOptions, joinTimeoutMs = 10_000): Promise<RoutedEmitter> {
    const e = new RoutedEmitter(options);
    const cluster = e.#cluster;
    if (!cluster) return e;
    try {
      await withTimeout(e.#join(cluster), joinTimeoutMs, 'joining the cluster through Redis');
    } catch (error) {
      clearInterval(e.#timer);
      cluster.sub.disconnect();
      cluster.pub.disconnect();
      throw new UnavailableError(`cluster: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    return e;
  }

  /**
   * Whether some client, here or on another node, subscribes with exactly this filter (as far as
   * this node has heard: a subscription made elsewhere in the last pub/sub hop may be missing).
   */
  hasRoute(filter: string): boolean {
    if (this.#filters.has(filter)) return true;
    for (const filters of this.#remoteFilters.values()) if (filters.has(filter)) return true;
    return false;
  }

  get current(): number {
    return this.#local.current;
  }

  get concurrent(): number {
    return this.#local.concurrent;
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    this.#local.on(topic, listener);
    const n = (this.#filters.get(topic) ?? 0) + 1;
    this.#filters.set(topic, n);
    if (n > 1) {
      if (done) setImmediate(done);
      return this;
    }
    this.#announce('+', topic).then(
      () => done?.(),
      (error: unknown) => {
        // the subscription works locally; other nodes learn it when Redis answers again (rejoin)
        this.#opts.logger.warn({ err: String(error), topic }, 'cluster route not announced');
        done?.();
      },
    );
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): void {
    this.#local.removeListener(topic, listener);
    const n = (this.#filters.get(topic) ?? 1) - 1;
    if (n > 0) {
      this.#filters.set(topic, n);
      if (done) setImmediate(done);
      return;
    }
    this.#filters.delete(topic);
    this.#announce('-', topic).then(
      () => done?.(),
      (error: unknown) => {
        this.#opts.logger.warn({ err: String(error), topic }, 'cluster route removal not announced');
        done?.();
      },
    );
  }

  emit(message: Message, done?: (error?: Error) => void): void {
    if (this.#closed) {
      done?.(new Error('cluster emitter is closed'));
      return;
    }
    // a single node, or a cluster where no other node subscribes (the bridged uplink): no match
    const targets = this.#remoteFilters.size === 0 ? noTargets : this.#remote.match(message.topic);
    if (targets.size === 0) {
      this.#local.emit(message, done);
      return;
    }
    const { pub, prefix } = this.#cluster!; // remote routes exist only with a cluster
    const bytes = encodeClusterPacket(message);
    const { metrics } = this.#opts;
    const sends: Promise<unknown>[] = [];
    for (const node of targets) {
      this.#pending++;
      metrics.clusterForwards.inc();
      sends.push(
        pub.publish(`${prefix}node:${node}`, bytes).finally(() => {
          this.#pending--;
        }),
      );
    }
    // Bounded: while too much waits for Redis, the publisher waits too (aedes holds its PUBACK).
    const wait = this.#pending > this.#opts.maxPendingForwards;
    this.#local.emit(message, (error) => {
      if (!wait) return done?.(error);
      Promise.all(sends).then(
        () => done?.(error),
        (e: unknown) => done?.(e instanceof Error ? e : new Error(String(e))),
      );
    });
  }

  close(done: () => void): void {
    if (this.#closed) {
      done();
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    if (!this.#cluster) {
      this.#local.close(done);
      return;
    }
    const { pub, sub, prefix } = this.#cluster;
    const { nodeId } = this.#opts;
    const leave = async () => {
      await pub.del(`${prefix}routes:${nodeId}`, `${prefix}alive:${nodeId}`);
      await pub.publish(`${prefix}routes`, `x ${nodeId} `);
    };
    leave()
      .catch(() => undefined) // Redis gone: the others drop this node when its liveness key expires
      .finally(() => {
        sub.disconnect();
        pub.disconnect();
        this.#local.close(done);
      });
  }

  async #join({ sub, prefix }: ClusterLink): Promise<void> {
    const { nodeId } = this.#opts;
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.#onMessage(channel.toString(), message),
    );
    // subscribe before reading what exists, so nothing announced meanwhile is missed
    await sub.subscribe(`${prefix}routes`, `${prefix}node:${nodeId}`);
    await this.#alive();
    await this.#loadRoutes();
    this.#timer = setInterval(() => void this.#maintain(), Math.max(1_000, this.#opts.nodeTtlMs / 3));
    this.#timer.unref();
  }

  async #alive(): Promise<void> {
    const { pub, prefix } = this.#cluster!;
    const { nodeId, nodeTtlMs } = this.#opts;
    await pub.set(`${prefix}alive:${nodeId}`, '1', 'PX', nodeTtlMs);
  }

  /** Every other node's filters, from their hashes. */
  async #loadRoutes(): Promise<void> {
    const { pub, prefix } = this.#cluster!;
    const { nodeId } = this.#opts;
    const marker = `${prefix}routes:`;
    let cursor = '0';
    do {
      const [next, keys] = await pub.scan(cursor, 'MATCH', `${marker}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const node = key.slice(marker.length);
        if (node === nodeId) continue;
        for (const filter of await pub.hkeys(key)) this.#addRemote(node, filter);
      }
    } while (cursor !== '0');
  }

  /** Refreshes this node's liveness and its routes (after a Redis restart), and drops dead nodes. */
  async #maintain(): Promise<void> {
    const { pub, prefix } = this.#cluster!;
    const { nodeId, logger } = this.#opts;
    try {
      await this.#alive();
      if (this.#filters.size > 0) {
        const stored = await pub.hlen(`${prefix}routes:${nodeId}`);
        if (stored !== this.#filters.size) {
          // Redis lost them (restarted) or another node took this one for dead: write them again
          // and have everyone read them again
          const fields = [...this.#filters.keys()].flatMap((f) => [f, '1']);
          await pub.del(`${prefix}routes:${nodeId}`);
          await pub.hset(`${prefix}routes:${nodeId}`, ...fields);
          await pub.publish(`${prefix}routes`, `r ${nodeId} `);
          await this.#loadRoutes();
        }
      }
      for (const node of [...this.#remoteFilters.keys()]) {
        if ((await pub.exists(`${prefix}alive:${node}`)) === 0) {
          logger.warn({ node }, 'cluster node gone: its routes dropped');
          this.#dropNode(node);
          await pub.del(`${prefix}routes:${node}`);
        }
      }
    } catch (error) {
      logger.warn({ err: String(error) }, 'cluster maintenance failed; retrying');
    }
  }

  /**
   * Bounded: with Redis away the SUBACK must not wait for it; the periodic check writes the routes
   * again once Redis answers.
   */
  async #announce(op: '+' | '-', filter: string): Promise<void> {
    if (!this.#cluster) return;
    const { pub, prefix } = this.#cluster;
    const { nodeId } = this.#opts;
    const key = `${prefix}routes:${nodeId}`;
    const write = async () => {
      if (op === '+') await pub.hset(key, filter, '1');
      else await pub.hdel(key, filter);
      await pub.publish(`${prefix}routes`, `${op} ${nodeId} ${filter}`);
    };
    await withTimeout(write(), 5_000, 'announcing a cluster route');
  }

  #onMessage(channel: string, message: Buffer): void {
    const { prefix } = this.#cluster!;
    const { nodeId, metrics, logger } = this.#opts;
    if (channel === `${prefix}routes`) {
      // "<op> <node> <filter>": node ids have no spaces, filters may
      const text = message.toString();
      const op = text[0];
      const end = text.indexOf(' ', 2);
      const node = text.slice(2, end);
      const filter = text.slice(end + 1);
      if (node === nodeId || end < 0) return;
      if (op === '+') this.#addRemote(node, filter);
      else if (op === '-') this.#removeRemote(node, filter);
      else if (op === 'x') this.#dropNode(node);
      else if (op === 'r') void this.#reloadNode(node);
      return;
    }
    let packet: Message;
    try {
      packet = decodeClusterPacket(message);
    } catch (error) {
      metrics.dropped.inc({ reason: 'cluster_packet' });
      logger.warn({ err: String(error) }, 'undecodable packet from another node dropped');
      return;
    }
    this.#local.emit(packet);
  }

  async #reloadNode(node: string): Promise<void> {
    const { pub, prefix } = this.#cluster!;
    const { logger } = this.#opts;
    try {
      const filters = await pub.hkeys(`${prefix}routes:${node}`);
      this.#dropNode(node);
      for (const filter of filters) this.#addRemote(node, filter);
    } catch (error) {
      logger.warn({ err: String(error), node }, 'cluster routes of a node not reloaded');
    }
  }

  #addRemote(node: string, filter: string): void {
    let set = this.#remoteFilters.get(node);
    if (!set) {
      set = new Set();
      this.#remoteFilters.set(node, set);
    }
    if (set.has(filter)) return;
    set.add(filter);
    this.#remote.add(filter, node);
  }

  #removeRemote(node: string, filter: string): void {
    const set = this.#remoteFilters.get(node);
    if (!set?.delete(filter)) return;
    this.#remote.remove(filter, node);
    if (set.size === 0) this.#remoteFilters.delete(node);
  }

  #dropNode(node: string): void {
    for (const filter of this.#remoteFilters.get(node) ?? []) this.#remote.remove(filter, node);
    this.#remoteFilters.delete(node);
  }
}
