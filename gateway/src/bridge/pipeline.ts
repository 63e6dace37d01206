import { CapacityError, TimeoutError, UnavailableError, ValidationError } from '@bitv/shared/errors';
import type { EventLog } from '@bitv/shared/event-log';
import type { Logger } from '@bitv/shared/log';
import { backoffDelay } from '@bitv/shared/retry';
import type { GatewayMetrics } from '../metrics.js';
import { buildRecords, type Outgoing } from './records.js';

export type { Outgoing } from './records.js';

export interface PipelineOptions {
  eventLog: EventLog;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Messages admitted and not yet settled, over all owners; beyond it `submit` waits. */
  maxInflight: number;
  /** The same bound per owner (an MQTT connection). */
  maxInflightPerOwner: number;
  maxBatch: number;
  /** Publish lanes per topic; a key always maps to the same lane. */
  lanes: number;
  /** A message not durable within this time is rejected (its client resends it later). */
  ackTimeoutMs: number;
  /** One publish call longer than this counts as failed and is retried. */
  publishTimeoutMs?: number;
}

interface Entry {
  owner: object;
  events: readonly Outgoing[];
  remaining: number;
  settled: boolean;
  receivedAt: number;
  /** When it is rejected if not durable yet (ms since the epoch). */
  deadline: number;
  done(error?: Error): void;
  /** Neighbours in the list of admitted, unsettled messages (null when not in it). */
  prev: Entry | null;
  next: Entry | null;
  admitted: boolean;
}

interface Item {
  outgoing: Outgoing;
  entry: Entry;
}

const retryDelays = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitter: 0.5 };

/**
 * Writes the events of each MQTT message to the event log and settles the message only when all
 * of them are durable: the caller acknowledges the device then (PUBACK after the Kafka ack).
 *
 * Order: events are queued per (topic, lane of their key) at admission, in arrival order, and a
 * lane has one publish call at a time, retried until it succeeds; so events with one key (one
 * edge node) reach the log in the order their messages arrived.
 *
 * Bounds: at most `maxInflight` messages (and `maxInflightPerOwner` per connection) are admitted;
 * further ones wait, which stops the broker reading from that connection. A message that cannot be
 * made durable within `ackTimeoutMs` is rejected and its events are skipped if not yet sent.
 */
export class BridgePipeline {
  readonly #opts: Required<PipelineOptions>;
  /** Per topic, its lanes by number. */
  readonly #lanes = new Map<string, Lane[]>();
  /**
   * Per owner, its admitted messages: one counter object for the owner's life, so admitting and
   * settling write a number and nothing else. A Map entry set and deleted per message (and a Set
   * of unsettled messages) made the broker promote about 0.6 MB of short-lived objects per
   * young-generation collection (docs/gateway.md, "Fourth pass").
   */
  readonly #perOwner = new WeakMap<object, { n: number }>();
  /** Messages not admitted yet, in arrival order. */
  readonly #waiters: Entry[] = [];
  /** Admitted, unsettled messages, oldest first: a list through the entries themselves. */
  #head: Entry | null = null;
  #tail: Entry | null = null;
  #inflight = 0;
  #closed = false;
  #healthy = true;
  /** Lanes whose last publish failed and that still hold events to retry. */
  readonly #failing = new Set<Lane>();
  readonly #healthListeners: ((healthy: boolean) => void)[] = [];
  /** One periodic check of deadlines rather than a timer per message (timers showed in profiles). */
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: PipelineOptions) {
    this.#opts = { publishTimeoutMs: 10_000, ...options };
    const every = Math.max(5, Math.min(1_000, Math.floor(options.ackTimeoutMs / 10)));
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), every);
    this.#sweeper.unref();
  }

  get inflight(): number {
    return this.#inflight;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Age in seconds of the oldest message not yet durable. */
  oldestAgeSeconds(now = Date.now()): number {
    let oldest = now;
    for (let e = this.#head; e; e = e.next) if (e.receivedAt < oldest) oldest = e.receivedAt;
    return (now - oldest) / 1000;
  }

  onHealthChange(listener: (healthy: boolean) => void): void {
    this.#healthListeners.push(listener);
  }

  /**
   * The periodic ping's verdict. A failed ping makes the bridge unhealthy; a good one makes it
   * healthy only while no lane is failing to publish, so a log that answers pings but refuses
   * writes does not flap STATE between online and offline.
   */
  reportPing(ok: boolean): void {
    if (!ok) this.setHealthy(false);
    else if (this.#failing.size === 0) this.setHealthy(true);
    // the log answers again: failing lanes retry now instead of finishing their backoff
    else for (const lane of this.#failing) lane.wake();
  }

  /** Marks the log reachable or not; listeners hear changes only. */
  setHealthy(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#opts.metrics.bridgeHealthy.set(healthy ? 1 : 0);
    this.#opts.logger.warn({ healthy }, healthy ? 'event log reachable again' : 'event log unreachable');
    for (const l of this.#healthListeners) l(healthy);
  }

  /** `send` as a promise. */
  submit(owner: object, events: readonly Outgoing[], receivedAt = Date.now()): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.send(owner, events, receivedAt, (error) => (error ? reject(error) : resolve())),
    );
  }

  /**
   * Queues the events of one message; `done` is called once, when all are durable or with the
   * reason they are not. Synchronous up to the queueing when there is capacity, so messages sent
   * in order are queued in order. A callback, not a promise: this runs for every PUBLISH.
   */
  send(owner: object, events: readonly Outgoing[], receivedAt: number, done: (error?: Error) => void): void {
    if (this.#closed) {
      done(new UnavailableError('bridge closed'));
      return;
    }
    if (events.length === 0) {
      done();
      return;
    }
    const entry: Entry = {
      owner,
      events,
      remaining: events.length,
      settled: false,
      receivedAt,
      deadline: receivedAt + this.#opts.ackTimeoutMs,
      done,
      prev: null,
      next: null,
      admitted: false,
    };
    if (this.#hasRoom(owner) && this.#waiters.length === 0) this.#enqueue(entry);
    else this.#waiters.push(entry);
  }

  /** Rejects what is still waiting and stops the lanes; what is in a publish call finishes or fails. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const e of this.#unsettledEntries()) this.#settle(e, new UnavailableError('bridge closed'));
    for (const w of this.#waiters.splice(0)) this.#settle(w, new UnavailableError('bridge closed'));
    await Promise.all([...this.#lanes.values()].flat().map((l) => l.idle()));
  }

  /** A copy of the list, for loops that settle as they go. */
  #unsettledEntries(): Entry[] {
    const entries: Entry[] = [];
    for (let e = this.#head; e; e = e.next) entries.push(e);
    return entries;
  }

  #hasRoom(owner: object): boolean {
    return (
      this.#inflight < this.#opts.maxInflight &&
      (this.#perOwner.get(owner)?.n ?? 0) < this.#opts.maxInflightPerOwner
    );
  }

  #enqueue(entry: Entry): void {
    this.#admit(entry);
    for (const o of entry.events) this.#lane(o.topic, o.key).push({ outgoing: o, entry });
  }

  #admit(entry: Entry): void {
    this.#inflight++;
    const count = this.#perOwner.get(entry.owner);
    if (count) count.n++;
    else this.#perOwner.set(entry.owner, { n: 1 });
    entry.admitted = true;
    entry.prev = this.#tail;
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
  }

  #settle(entry: Entry, error?: Error): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.admitted) {
      entry.admitted = false;
      this.#inflight--;
      const count = this.#perOwner.get(entry.owner);
      if (count) count.n--;
      if (entry.prev) entry.prev.next = entry.next;
      else this.#head = entry.next;
      if (entry.next) entry.next.prev = entry.prev;
      else this.#tail = entry.prev;
      // A settled entry points at nothing in the list, so it keeps no later message alive.
      entry.prev = null;
      entry.next = null;
    }
    if (error) entry.done(error);
    else {
      this.#opts.metrics.bridgeLag.observe((Date.now() - entry.receivedAt) / 1000);
      entry.done();
    }
    this.#wake();
  }

  /** Admits waiters in arrival order; one that does not fit yet keeps its owner's later ones behind it. */
  #wake(): void {
    if (this.#waiters.length === 0) return;
    const blocked = new Set<object>();
    for (let i = 0; i < this.#waiters.length && this.#inflight < this.#opts.maxInflight; ) {
      const w = this.#waiters[i]!;
      if (!blocked.has(w.owner) && this.#hasRoom(w.owner)) {
        this.#waiters.splice(i, 1);
        this.#enqueue(w);
      } else {
        blocked.add(w.owner);
        i++;
      }
    }
  }

  /** Rejects what passed its deadline: late by at most a tenth of the ack timeout (1 s at most). */
  #sweep(now: number): void {
    for (const e of this.#unsettledEntries()) if (e.deadline <= now) this.#timeout(e);
    if (this.#waiters.length === 0) return;
    for (const w of this.#waiters.filter((x) => x.deadline <= now)) this.#timeout(w);
  }

  #timeout(entry: Entry): void {
    if (entry.settled) return;
    this.#opts.metrics.ackTimeouts.inc();
    if (entry.admitted) {
      this.#settle(entry, new TimeoutError(`not durable after ${this.#opts.ackTimeoutMs} ms`));
      return;
    }
    const i = this.#waiters.indexOf(entry);
    if (i >= 0) this.#waiters.splice(i, 1);
    this.#settle(entry, new CapacityError('bridge full: message not admitted in time'));
  }

  #lane(topic: string, key: string): Lane {
    const n = this.#opts.lanes === 1 ? 0 : hash(key) % this.#opts.lanes;
    let lanes = this.#lanes.get(topic);
    if (!lanes) {
      lanes = [];
      this.#lanes.set(topic, lanes);
    }
    let lane = lanes[n];
    if (!lane) {
      lane = new Lane(topic, this.#opts, {
        delivered: (items, records) => this.#delivered(topic, items, records),
        failed: (items, error) => this.#failed(items, error),
        healthy: (lane, ok) => {
          if (ok) this.#failing.delete(lane);
          else this.#failing.add(lane);
          this.setHealthy(ok ? this.#failing.size === 0 : false);
        },
        idle: (lane) => {
          // nothing left to retry (its messages timed out): let the ping decide again
          this.#failing.delete(lane);
        },
        closed: () => this.#closed,
      });
      lanes[n] = lane;
    }
    return lane;
  }

  #delivered(topic: string, items: readonly Item[], records: number): void {
    this.#opts.metrics.bridgeEvents.inc({ topic }, records);
    for (const { entry } of items) {
      if (entry.settled) continue;
      if (--entry.remaining === 0) this.#settle(entry);
    }
  }

  /** A batch the log refused for good (not retriable): its messages are not acknowledged. */
  #failed(items: readonly Item[], error: Error): void {
    for (const { entry } of items) this.#settle(entry, error);
  }
}

interface LaneHooks {
  delivered(items: readonly Item[], records: number): void;
  failed(items: readonly Item[], error: Error): void;
  healthy(lane: Lane, ok: boolean): void;
  idle(lane: Lane): void;
  closed(): boolean;
}

/** The events of one topic whose keys hash to one lane: one publish call at a time, in order. */
class Lane {
  readonly #queue: Item[] = [];
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly opts: Required<PipelineOptions>,
    readonly hooks: LaneHooks,
  ) {}

  push(item: Item): void {
    this.#queue.push(item);
    if (!this.#running) this.#running = this.#run().finally(() => (this.#running = undefined));
  }

  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Ends a backoff wait early. */
  wake(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { eventLog, maxBatch, metrics, logger } = this.opts;
    // the first call waits for the rest of this task: a socket read's PUBLISHes are queued in one
    // go, and went out as a batch of one and a batch of the others
    await Promise.resolve();
    while (this.#queue.length > 0) {
      let batch = this.#queue.splice(0, maxBatch);
      for (let attempt = 1; ; attempt++) {
        // messages that timed out meanwhile are not sent: their device resends them anyway
        if (batch.some((i) => i.entry.settled)) batch = batch.filter((i) => !i.entry.settled);
        if (batch.length === 0 || this.hooks.closed()) {
          this.hooks.idle(this);
          break;
        }
        try {
          const records = buildRecords(batch, (i) => i.outgoing);
          await withDeadline(eventLog.publish(this.topic, records), this.opts.publishTimeoutMs);
          this.hooks.healthy(this, true);
          this.hooks.delivered(batch, records.length);
          break;
        } catch (error) {
          metrics.eventLogErrors.inc({ operation: 'publish' });
          const err = error instanceof Error ? error : new Error(String(error));
          if (isPermanent(error)) {
            logger.error({ err, topic: this.topic, events: batch.length }, 'event log refused a batch');
            this.hooks.failed(batch, err);
            break;
          }
          this.hooks.healthy(this, false);
          const delayMs = backoffDelay(Math.min(attempt, 10), retryDelays);
          logger.debug({ err, topic: this.topic, attempt, delayMs }, 'event log publish failed, retrying');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => this.#wake?.(), delayMs);
            this.#wake = () => {
              clearTimeout(timer);
              this.#wake = undefined;
              resolve();
            };
          });
        }
      }
    }
  }
}

/**
 * Only a refusal of the records themselves is final (an event that fails validation, a record
 * the broker will never take). Anything else, including kafkajs giving up its own retries while
 * Kafka is down (KafkaJSNumberOfRetriesExceeded is flagged non-retriable), is worth retrying:
 * the messages stay unacknowledged meanwhile, and their ack timeout bounds the wait.
 */
function isPermanent(error: unknown): boolean {
  if (error instanceof ValidationError) return true;
  const e = error as { name?: unknown; retriable?: unknown };
  return e?.name === 'KafkaJSProtocolError' && e.retriable === false;
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`event log publish took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** FNV-1a: cheap and stable, only to spread keys over lanes. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
