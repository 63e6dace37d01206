import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { deadLetterTopic, type EventRegistry } from '../../events/index.js';
import { backoffDelay, sleep } from '../../retry/index.js';
import type { EventLogMetrics } from '../metrics.js';
import type { BatchHandler, EventHandler, Subscription } from '../port.js';
import { GroupLeases } from './leases.js';
import type { EventLogTables } from './schema.js';
import { appendRecords, type StoredRecord } from './store.js';
import type { DatabaseLogTuning } from './tuning.js';
import { Waker } from './waker.js';
import { PartitionWorker } from './worker.js';

/** What a subscription needs from the log that created it. */
export interface ConsumerHost {
  db: Kysely<EventLogTables>;
  registry: EventRegistry;
  metrics: EventLogMetrics;
  logger: Logger;
  tuning: DatabaseLogTuning;
  /** Creates the topic on first use and returns its partition count. */
  topicPartitions(topic: string): Promise<number>;
  /** Wakes this process's consumers of `topic` after an append. */
  announce(topic: string): void;
  onAppend(listener: (topic: string) => void): () => void;
}

export interface ConsumerOptions {
  group: string;
  topics: readonly string[];
  handler: EventHandler;
  batchHandler?: BatchHandler;
  fromBeginning: boolean;
  maxAttempts: number;
  retryDelayMs: number;
}

export interface FetchedRow {
  position: number;
  key: string;
  event: unknown;
}

/**
 * One member of a consumer group on the database log.
 *
 * Partition ownership is by lease rows (see `leases.ts`): a member holds about its fair share of
 * the partitions, renews its leases every `leaseMs / 3` and releases them on close. So two members
 * of a group never handle one partition at once, members share the partitions, and a dead
 * member's partitions move to live ones once its leases expire. Members of one group are expected
 * to subscribe to the same topics (as in Kafka); the share is computed from this member's topics.
 *
 * Each owned partition has its own worker, so a slow or poisoned partition holds back only
 * itself. A worker commits an event's offset after handling it but does not wait for that commit
 * before the next event (commits made meanwhile go out as one); a refused or failed commit stops
 * it at the event after. Every fetch for the whole member is one query (a LATERAL join over the owned
 * partitions), and never inside a transaction that awaits a handler (PGlite has one connection).
 */
export class DatabaseSubscription implements Subscription {
  readonly memberId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly abort = new AbortController();
  private readonly waker = new Waker();
  private readonly workers = new Map<string, PartitionWorker>();
  private loop: Promise<void> | undefined;
  private unlisten: (() => void) | undefined;
  private nextLeaseAt = 0;
  private partitionCount = 0;
  /** Appends this process announced per topic: a worker that fetched before the last one fetches again. */
  private readonly appends = new Map<string, number>();
  private readonly leases: GroupLeases;

  constructor(
    readonly host: ConsumerHost,
    readonly options: ConsumerOptions,
  ) {
    this.leases = new GroupLeases(host.db, options.group, this.memberId, options.topics, host.tuning.leaseMs);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Sets the group's starting offsets, takes the free partitions and starts fetching. */
  async start(): Promise<void> {
    const { db } = this.host;
    for (const topic of this.options.topics) this.partitionCount += await this.host.topicPartitions(topic);
    // A group with no committed offset starts at the beginning, or at the end as of now, so that
    // every event published after `subscribe` resolved is delivered.
    await sql`INSERT INTO bv_event_log_commits (group_id, topic, partition, next_offset)
      SELECT ${this.options.group}, p.topic, p.partition,
        CASE WHEN ${this.options.fromBeginning} THEN 0 ELSE p.next_offset END
      FROM bv_event_log_partitions p WHERE p.topic IN (${sql.join(this.options.topics)})
      ON CONFLICT (group_id, topic, partition) DO NOTHING`.execute(db);
    await this.refreshLeases();
    this.unlisten = this.host.onAppend((topic) => {
      if (!this.options.topics.includes(topic)) return;
      this.appends.set(topic, (this.appends.get(topic) ?? 0) + 1);
      this.waker.notify();
    });
    this.loop = this.run();
  }

  async close(): Promise<void> {
    if (this.abort.signal.aborted) return this.loop;
    this.abort.abort(new Error('subscription closed'));
    this.unlisten?.();
    await this.loop;
    await Promise.all([...this.workers.values()].map((w) => w.done()));
    try {
      await this.leases.leave();
    } catch (error) {
      // The leases expire by themselves after leaseMs; releasing early only speeds up the handover.
      this.host.logger.warn({ err: error }, 'could not release event log leases');
    }
  }

  private async run(): Promise<void> {
    const { tuning, logger } = this.host;
    let failures = 0;
    while (!this.signal.aborted) {
      try {
        if (Date.now() >= this.nextLeaseAt) await this.refreshLeases();
        await this.fetch();
        failures = 0;
        const untilLease = this.nextLeaseAt - Date.now();
        await this.waker.wait(Math.min(tuning.pollIntervalMs, untilLease), this.signal);
      } catch (error) {
        if (this.signal.aborted) break;
        failures++;
        logger.warn({ err: error, failures }, 'event log consumer poll failed');
        const delay = backoffDelay(failures, {
          initialDelayMs: 100,
          maxDelayMs: 5_000,
          factor: 2,
          jitter: 0.5,
        });
        await sleep(delay, this.signal).catch(() => undefined); // rejects only on close, which ends the loop
      }
    }
  }

  /**
   * Heartbeats, renews our leases, then moves toward our fair share: claims free partitions
   * when below it, gives back idle ones when above it. Workers of partitions we no longer hold
   * stop after their current event.
   */
  private async refreshLeases(): Promise<void> {
    const { tuning } = this.host;
    const members = await this.leases.heartbeat();
    let owned = await this.leases.renew();
    this.nextLeaseAt = Date.now() + Math.max(50, Math.floor(tuning.leaseMs / 3));
    const share = Math.ceil(this.partitionCount / members);
    if (owned.length < share) owned = [...owned, ...(await this.leases.claim(share - owned.length))];
    if (owned.length > share && !this.signal.aborted) {
      const idle = owned.filter((p) => this.workers.get(workerKey(p.topic, p.partition))?.idle !== false);
      const giveBack = idle.slice(0, owned.length - share);
      for (const p of giveBack) this.workers.get(workerKey(p.topic, p.partition))?.revoke('rebalanced');
      await this.leases.release(giveBack);
      owned = owned.filter((p) => !giveBack.includes(p));
    }
    const keys = new Set(owned.map((p) => workerKey(p.topic, p.partition)));
    for (const [key, worker] of this.workers) {
      if (!keys.has(key)) worker.revoke('lease lost');
    }
    for (const { topic, partition } of owned) {
      const key = workerKey(topic, partition);
      if (this.workers.has(key) || this.signal.aborted) continue; // a revoked worker still finishing keeps its slot
      const position = await this.committedOffset(topic, partition);
      this.workers.set(key, new PartitionWorker(this, topic, partition, position));
      this.host.logger.debug({ topic, partition, position }, 'partition assigned');
    }
  }

  private async committedOffset(topic: string, partition: number): Promise<number> {
    const { rows } = await sql<{ next_offset: string | number }>`
      SELECT next_offset FROM bv_event_log_commits
      WHERE group_id = ${this.options.group} AND topic = ${topic} AND partition = ${partition}`.execute(
      this.host.db,
    );
    return Number(rows[0]?.next_offset ?? 0);
  }

  /** One query fetches the next events of every idle partition, plus each partition's end for the lag gauge. */
  private async fetch(): Promise<void> {
    const idle = [...this.workers.values()].filter((w) => w.idle);
    if (idle.length === 0) return;
    const appendsBefore = new Map(this.appends);
    const { rows } = await sql<{
      topic: string;
      partition: number;
      next_offset: string | number;
      position: string | number | null;
      key: string | null;
      event: unknown;
    }>`
      SELECT v.topic, v.partition, p.next_offset, e.position, e.key, e.event
      FROM (VALUES ${sql.join(idle.map((w) => sql`(${w.topic}::text, ${w.partition}::integer, ${w.position}::bigint)`))})
        AS v(topic, partition, pos)
      JOIN bv_event_log_partitions p ON p.topic = v.topic AND p.partition = v.partition
      LEFT JOIN LATERAL (
        SELECT ev.position, ev.key, ev.event FROM bv_event_log_events ev
        WHERE ev.topic = v.topic AND ev.partition = v.partition AND ev.position >= v.pos
        ORDER BY ev.position LIMIT ${this.host.tuning.batchSize}
      ) e ON true
      ORDER BY v.topic, v.partition, e.position`.execute(this.host.db);
    const batches = new Map<string, FetchedRow[]>();
    for (const row of rows) {
      const key = workerKey(row.topic, Number(row.partition));
      const worker = this.workers.get(key);
      if (!worker) continue;
      worker.end = Number(row.next_offset);
      if (row.position === null || row.key === null) continue;
      const list = batches.get(key) ?? [];
      list.push({ position: Number(row.position), key: row.key, event: row.event });
      batches.set(key, list);
    }
    for (const worker of idle) {
      this.host.metrics.lag.set(worker.labels, Math.max(0, worker.end - worker.position));
      const batch = batches.get(workerKey(worker.topic, worker.partition));
      if (!batch) continue;
      worker.fetched = {
        full: batch.length >= this.host.tuning.batchSize,
        appends: appendsBefore.get(worker.topic) ?? 0,
      };
      worker.enqueue(batch);
    }
  }

  /**
   * Called by a worker that emptied its queue or stopped (free its slot). It fetches again at once
   * only when more may be waiting: its batch was full, or its topic had an append since. Else the
   * next append or poll will; a fetch that would find nothing is most of a busy log's statements.
   */
  workerFinished(worker: PartitionWorker, stopped: boolean): void {
    const key = workerKey(worker.topic, worker.partition);
    if (stopped && this.workers.get(key) === worker) this.workers.delete(key);
    const fetched = worker.fetched;
    if (stopped || !fetched || fetched.full || fetched.appends !== (this.appends.get(worker.topic) ?? 0))
      this.waker.notify();
  }

  /**
   * Commits `nextOffset` for a partition, fenced by our lease: when another member took the
   * partition meanwhile, nothing is written (a dead-letter append included) and we stop.
   */
  async commit(worker: PartitionWorker, nextOffset: number, deadLetter?: StoredRecord): Promise<boolean> {
    const { db } = this.host;
    const fencedUpdate = (executor: Kysely<EventLogTables>) =>
      sql`
        UPDATE bv_event_log_commits SET next_offset = ${nextOffset}, updated_at = now()
        WHERE group_id = ${this.options.group} AND topic = ${worker.topic} AND partition = ${worker.partition}
          AND EXISTS (SELECT 1 FROM bv_event_log_leases l
            WHERE l.group_id = ${this.options.group} AND l.topic = ${worker.topic} AND l.partition = ${worker.partition}
              AND l.owner = ${this.memberId} AND l.expires_at > now())
        RETURNING 1 AS ok`.execute(executor);
    // The common case is one statement (one round trip per event); only a dead letter needs a
    // transaction, so that it is appended exactly when the offset moves past it.
    if (!deadLetter) return (await fencedUpdate(db)).rows.length > 0;
    const dlq = deadLetterTopic(worker.topic);
    const dlqPartitions = await this.host.topicPartitions(dlq);
    const committed = await db.transaction().execute(async (trx) => {
      if ((await fencedUpdate(trx)).rows.length === 0) return false;
      await appendRecords(trx, dlq, dlqPartitions, [deadLetter]);
      return true;
    });
    if (committed) {
      this.host.metrics.deadLetters.inc({ topic: worker.topic, group: this.options.group });
      this.host.metrics.published.inc({ topic: dlq });
      this.host.announce(dlq);
    }
    return committed;
  }
}

function workerKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
