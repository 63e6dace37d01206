import { EventEmitter } from 'node:events';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { type Database, migrate, tables } from '../../db/index.js';
import { UnavailableError } from '../../errors/index.js';
import { type BvEvent, type EventRegistry, eventToJson } from '../../events/index.js';
import { resolveSubscribeOptions, validateForPublish } from '../delivery.js';
import type { EventLogMetrics } from '../metrics.js';
import type { ConsumerStatus, EventLog, SubscribeOptions, Subscription } from '../port.js';
import { type ConsumerHost, DatabaseSubscription } from './consumer.js';
import { type EventLogTables, eventLogMigrations } from './schema.js';
import { appendRecords, ensureTopic } from './store.js';
import type { DatabaseLogTuning } from './tuning.js';

/**
 * In-process wake-ups: every log over the same database object (the embedded platform may open
 * several) tells the others' consumers about its appends at once, so publish -> handler takes
 * milliseconds instead of a poll interval. Other processes find the events by polling.
 */
const appendSignals = new WeakMap<object, EventEmitter>();

function appendSignal(db: object): EventEmitter {
  let emitter = appendSignals.get(db);
  if (!emitter) {
    emitter = new EventEmitter();
    emitter.setMaxListeners(0); // one listener per subscription; the count is the caller's design
    appendSignals.set(db, emitter);
  }
  return emitter;
}

export interface DatabaseLogDeps {
  database: Database;
  registry: EventRegistry;
  metrics: EventLogMetrics;
  logger: Logger;
  tuning: DatabaseLogTuning;
}

/**
 * The event log kept in the SQL database (PGlite embedded, or PostgreSQL): topics split into
 * partitions by key hash, gap-free offsets per partition, consumer groups with committed offsets
 * and lease-based partition ownership. The database itself belongs to the caller: `close()`
 * stops this log's consumers but leaves the database open.
 */
export class DatabaseEventLog implements EventLog {
  readonly kind = 'database';
  private readonly db: Kysely<EventLogTables>;
  private readonly signal: EventEmitter;
  private readonly partitions = new Map<string, Promise<number>>();
  /** Open subscriptions and what they read (for `consumers()`). */
  private readonly subscriptions = new Map<
    DatabaseSubscription,
    { group: string; topics: readonly string[] }
  >();
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly deps: DatabaseLogDeps) {
    this.db = tables<EventLogTables>(deps.database);
    this.signal = appendSignal(deps.database.kysely);
  }

  static async open(deps: DatabaseLogDeps): Promise<DatabaseEventLog> {
    await migrate(deps.database, 'event_log', eventLogMigrations);
    const log = new DatabaseEventLog(deps);
    if (deps.tuning.retentionIntervalMs > 0) {
      log.retentionTimer = setInterval(() => {
        log
          .cleanup()
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'event log clean-up failed'));
      }, deps.tuning.retentionIntervalMs);
      log.retentionTimer.unref();
    }
    return log;
  }

  async publish(topic: string, input: BvEvent | readonly BvEvent[]): Promise<void> {
    if (this.closed) throw new UnavailableError('event log is closed', { retriable: false });
    const events: readonly BvEvent[] = isEventList(input) ? input : [input];
    validateForPublish(this.deps.registry, topic, events);
    if (events.length === 0) return;
    const records = events.map((event) => ({ key: event.partitionkey, json: eventToJson(event) }));
    const partitions = await this.topicPartitions(topic);
    await appendRecords(this.db, topic, partitions, records);
    this.deps.metrics.published.inc({ topic }, events.length);
    this.signal.emit('append', topic);
  }

  async subscribe(input: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new UnavailableError('event log is closed', { retriable: false });
    const options = resolveSubscribeOptions(input);
    const host: ConsumerHost = {
      db: this.db,
      registry: this.deps.registry,
      metrics: this.deps.metrics,
      logger: this.deps.logger.child({ group: options.group }),
      tuning: this.deps.tuning,
      topicPartitions: (topic) => this.topicPartitions(topic),
      announce: (topic) => this.signal.emit('append', topic),
      onAppend: (listener) => {
        this.signal.on('append', listener);
        return () => this.signal.off('append', listener);
      },
    };
    const subscription = new DatabaseSubscription(host, options);
    await subscription.start();
    this.subscriptions.set(subscription, { group: options.group, topics: options.topics });
    return {
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  ping(): Promise<void> {
    return this.deps.database.ping();
  }

  /** A database consumer never dies: its loop retries a failed poll with backoff until closed. */
  consumers(): ConsumerStatus[] {
    return [...this.subscriptions.values()].map(({ group, topics }) => ({
      group,
      topics,
      state: 'running',
      restarts: 0,
    }));
  }

  /** Stops this log's consumers (each finishes its current handler) and the clean-up timer. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retentionTimer);
    const subscriptions = [...this.subscriptions.keys()];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.close()));
  }

  /**
   * Retention: deletes events older than `retentionMs` that every group has passed (a group's
   * committed offset is beyond them), in batches of `retentionBatchSize` rows, at most
   * `maxBatches` batches per call. A group that committed nothing for `groupRetentionMs` no
   * longer holds events back (like Kafka's `offsets.retention.minutes`), so an abandoned group
   * cannot make the log grow forever. Runs every `retentionIntervalMs` by itself; returns the
   * number of events deleted.
   */
  async cleanup(
    options: { retentionMs?: number; groupRetentionMs?: number; maxBatches?: number } = {},
  ): Promise<number> {
    const retentionMs = options.retentionMs ?? this.deps.tuning.retentionMs;
    const groupRetentionMs = options.groupRetentionMs ?? this.deps.tuning.groupRetentionMs;
    const maxBatches = options.maxBatches ?? 100;
    const batch = this.deps.tuning.retentionBatchSize;
    let deleted = 0;
    for (let i = 0; i < maxBatches; i++) {
      const { rows } = await sql<{ n: number }>`
        WITH doomed AS (
          SELECT e.topic, e.partition, e.position FROM bv_event_log_events e
          WHERE e.created_at < now() - ${retentionMs} * interval '1 millisecond'
            AND NOT EXISTS (
              SELECT 1 FROM bv_event_log_commits c
              WHERE c.topic = e.topic AND c.partition = e.partition AND c.next_offset <= e.position
                AND c.updated_at >= now() - ${groupRetentionMs} * interval '1 millisecond')
          LIMIT ${batch}
        ), gone AS (
          DELETE FROM bv_event_log_events e USING doomed d
          WHERE e.topic = d.topic AND e.partition = d.partition AND e.position = d.position
          RETURNING 1
        )
        SELECT count(*)::integer AS n FROM gone`.execute(this.db);
      const n = Number(rows[0]?.n ?? 0);
      deleted += n;
      if (n < batch) break;
    }
    if (deleted > 0) this.deps.logger.info({ deleted, retentionMs }, 'event log clean-up');
    return deleted;
  }

  private topicPartitions(topic: string): Promise<number> {
    let count = this.partitions.get(topic);
    if (!count) {
      count = ensureTopic(this.db, topic, this.deps.tuning.partitions);
      count.catch(() => this.partitions.delete(topic)); // a failed creation is tried again next time
      this.partitions.set(topic, count);
    }
    return count;
  }
}

function isEventList(input: BvEvent | readonly BvEvent[]): input is readonly BvEvent[] {
  return Array.isArray(input);
}
