import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database } from '../db/index.js';
import { ValidationError, withTimeout } from '../errors/index.js';
import { Waker } from '../event-log/database/waker.js';
import type { EventLog } from '../event-log/port.js';
import type { BvEvent } from '../events/envelope.js';
import { silentLogger } from '../log/index.js';
import { createRegistry } from '../metrics/index.js';
import { backoffDelay } from '../retry/index.js';
import { listenForCommits } from './listen.js';
import { onNudge } from './nudge.js';
import { type OutboxMetrics, outboxMetrics } from './relay-metrics.js';
import { migrateEventStore } from './schema.js';

export interface OutboxRelayOptions {
  database: Database;
  eventLog: Pick<EventLog, 'publish'>;
  logger?: Logger;
  metrics?: Registry;
  /** Outbox rows read per round. */
  batchSize?: number;
  /** Fallback poll; commits in this process (and, with `listenUrl`, in others) wake it at once. */
  pollIntervalMs?: number;
  /** One relay per database publishes at a time; a dead one's lease expires after this. */
  leaseMs?: number;
  publishTimeoutMs?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** How long delivered rows are kept (for inspection) before they are deleted. */
  retentionMs?: number;
  /** Partition keys published at once. */
  concurrency?: number;
  /** PostgreSQL URL to LISTEN on for commits of other processes. */
  listenUrl?: string;
}

export const outboxRelayDefaults = {
  batchSize: 500,
  pollIntervalMs: 1_000,
  leaseMs: 15_000,
  publishTimeoutMs: 5_000,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 30_000,
  retentionMs: 3_600_000,
  concurrency: 8,
};

export interface OutboxRelay {
  /** Runs one round now (when this relay holds or can take the lease); returns the rows it delivered. */
  flush(): Promise<number>;
  /** Rows not yet delivered (nor given up on). */
  pending(): Promise<number>;
  /** Stops after the round in progress and gives the lease back. */
  close(): Promise<void>;
}

interface OutboxRow {
  id: string | number | bigint;
  topic: string;
  partition_key: string;
  event: Record<string, unknown>;
  attempts: number;
  due_in_ms: number;
  age_seconds: number;
}

interface RoundResult {
  delivered: number;
  /** A full batch was read and some of it went out: more may be waiting. */
  more: boolean;
  /** When the earliest key in backoff is due again. */
  nextDueMs: number | undefined;
}

/**
 * Publishes outbox rows to the event log after their transaction committed: at least once (a row
 * is marked delivered only after `publish` resolved, so a relay that dies in between sends it
 * again when it restarts), in order per topic and partition key (a key's rows go in id order,
 * which is commit order, and a key waits while its oldest row is in backoff). A row the event log
 * refuses as invalid can never be published: it is set aside as failed, counted and logged.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const opts = { ...outboxRelayDefaults, ...options };
  const { database, eventLog } = opts;
  await migrateEventStore(database);
  const db = database.kysely;
  const logger = (opts.logger ?? silentLogger).child({ subsystem: 'outbox-relay' });
  const metrics: OutboxMetrics = outboxMetrics(opts.metrics ?? createRegistry());
  const owner = randomUUID();
  const controller = new AbortController();
  const waker = new Waker();
  const unsubscribe = onNudge(database, 'outbox', () => waker.notify());
  const listener =
    opts.listenUrl && database.kind === 'postgres'
      ? listenForCommits(opts.listenUrl, (what) => what !== 'events' && waker.notify(), logger)
      : undefined;
  let lastRetention = 0;
  let lastGauges = 0;
  let running: Promise<RoundResult> | undefined;
  // Every commit with outbox rows wakes every relay of the process (a module each), and all but
  // one lose the lease: the holder renews once a third of the lease has passed, not every round,
  // and the others try again only as often (sooner on `flush`), so most rounds cost one statement.
  let heldUntil = 0;
  let nextTry = 0;

  async function holdLease(force: boolean): Promise<boolean> {
    const now = Date.now();
    if (now < heldUntil) return true;
    if (!force && now < nextTry) return false;
    const { rows } = await sql<{ owner: string }>`INSERT INTO bv_es_outbox_lease (name, owner, expires_at)
      VALUES ('relay', ${owner}, now() + ${opts.leaseMs} * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE bv_es_outbox_lease.owner = excluded.owner OR bv_es_outbox_lease.expires_at <= now()
      RETURNING owner`.execute(db);
    const held = rows[0]?.owner === owner;
    // Measured from before the statement, so the lease in the database outlives our trust in it.
    if (held) heldUntil = now + opts.leaseMs / 3;
    else nextTry = now + opts.leaseMs / 3;
    return held;
  }

  /** Publishes one key's rows; returns how many were delivered, or when to try again. */
  async function publishGroup(rows: OutboxRow[]): Promise<{ delivered: number; retryInMs?: number }> {
    const first = rows[0];
    if (!first) return { delivered: 0 };
    if (first.due_in_ms > 0) return { delivered: 0, retryInMs: Number(first.due_in_ms) };
    const topic = first.topic;
    try {
      await withTimeout(
        eventLog.publish(topic, rows.map(toEvent)),
        opts.publishTimeoutMs,
        `outbox publish to ${topic}`,
      );
      await markDelivered(rows);
      return { delivered: rows.length };
    } catch (error) {
      if (error instanceof ValidationError) return { delivered: await publishOneByOne(rows) };
      const delay = backoffDelay(first.attempts + 1, {
        initialDelayMs: opts.retryInitialDelayMs,
        maxDelayMs: opts.retryMaxDelayMs,
        factor: 2,
        jitter: 0.5,
      });
      await sql`UPDATE bv_es_outbox SET attempts = attempts + 1, last_error = ${String(error).slice(0, 1000)},
        next_attempt_at = now() + ${delay} * interval '1 millisecond' WHERE id = ${String(first.id)}::bigint`.execute(
        db,
      );
      metrics.failures.inc({ topic });
      logger.warn(
        { err: error, topic, key: first.partition_key, attempt: first.attempts + 1, retryInMs: delay },
        'outbox publish failed; will retry',
      );
      return { delivered: 0, retryInMs: delay };
    }
  }

  /** Isolates the rows the log refuses, delivering the others in order. */
  async function publishOneByOne(rows: OutboxRow[]): Promise<number> {
    let delivered = 0;
    for (const row of rows) {
      let event: BvEvent | undefined;
      try {
        event = toEvent(row);
        await withTimeout(
          eventLog.publish(row.topic, event),
          opts.publishTimeoutMs,
          `outbox publish to ${row.topic}`,
        );
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        await sql`UPDATE bv_es_outbox SET failed_at = now(), attempts = attempts + 1,
          last_error = ${error.message.slice(0, 1000)} WHERE id = ${String(row.id)}::bigint`.execute(db);
        metrics.dropped.inc({ topic: row.topic });
        logger.error(
          { err: error, topic: row.topic, key: row.partition_key, id: String(row.id) },
          'outbox row refused by the event log; set aside as failed',
        );
        continue;
      }
      await markDelivered([row]);
      delivered += 1;
    }
    return delivered;
  }

  async function markDelivered(rows: OutboxRow[]): Promise<void> {
    await sql`UPDATE bv_es_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL
      WHERE id IN (${sql.join(rows.map((r) => sql`${String(r.id)}::bigint`))})`.execute(db);
    for (const r of rows) {
      metrics.published.inc({ topic: r.topic });
      metrics.delay.observe(Math.max(0, Number(r.age_seconds)));
    }
  }

  async function round(force: boolean): Promise<RoundResult> {
    if (!(await holdLease(force))) return { delivered: 0, more: false, nextDueMs: undefined };
    const { rows } = await sql<OutboxRow>`SELECT id, topic, partition_key, event, attempts,
        greatest(0, extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS due_in_ms, extract(epoch FROM now() - created_at)::float8 AS age_seconds
      FROM bv_es_outbox WHERE delivered_at IS NULL AND failed_at IS NULL
      ORDER BY id LIMIT ${opts.batchSize}`.execute(db);
    const groups = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const key = `${row.topic}\u0000${row.partition_key}`;
      const list = groups.get(key);
      if (list) list.push(row);
      else groups.set(key, [row]);
    }
    let delivered = 0;
    let nextDueMs: number | undefined;
    const queue = [...groups.values()];
    await Promise.all(
      Array.from({ length: Math.min(opts.concurrency, queue.length) }, async () => {
        for (let g = queue.shift(); g; g = queue.shift()) {
          const result = await publishGroup(g);
          delivered += result.delivered;
          if (result.retryInMs !== undefined) nextDueMs = Math.min(nextDueMs ?? Infinity, result.retryInMs);
        }
      }),
    );
    await updateGauges(rows.length === 0);
    if (Date.now() - lastRetention > 60_000) {
      lastRetention = Date.now();
      await sql`DELETE FROM bv_es_outbox
        WHERE delivered_at < now() - ${opts.retentionMs} * interval '1 millisecond'`.execute(db);
    }
    return { delivered, more: rows.length === opts.batchSize && delivered > 0, nextDueMs };
  }

  /** Exact when the round found nothing; otherwise counted at most once a second. */
  async function updateGauges(empty: boolean): Promise<void> {
    if (empty) {
      metrics.pending.set(0);
      metrics.oldest.set(0);
      return;
    }
    if (Date.now() - lastGauges < 1_000) return;
    lastGauges = Date.now();
    const { rows } = await sql<{ n: number; age: number | null }>`SELECT count(*)::integer AS n,
        extract(epoch FROM now() - min(created_at))::float8 AS age
      FROM bv_es_outbox WHERE delivered_at IS NULL AND failed_at IS NULL`.execute(db);
    metrics.pending.set(Number(rows[0]?.n ?? 0));
    metrics.oldest.set(Number(rows[0]?.age ?? 0));
  }

  /** One round at a time, whether from the loop or from `flush`. */
  function exclusive(force = false): Promise<RoundResult> {
    const idle: RoundResult = { delivered: 0, more: false, nextDueMs: undefined };
    const next = (running ?? Promise.resolve(idle)).catch(() => idle).then(() => round(force));
    running = next;
    return next;
  }

  async function follow(): Promise<void> {
    let failures = 0;
    while (!controller.signal.aborted) {
      let result: RoundResult;
      try {
        result = await exclusive();
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) return;
        failures += 1;
        logger.error({ err: error, failures }, 'outbox relay round failed');
        await waker.wait(
          backoffDelay(failures, { initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: 0.5 }),
          controller.signal,
        );
        continue;
      }
      // A full batch with progress: more is waiting, go on at once.
      if (result.more) continue;
      await waker.wait(Math.min(opts.pollIntervalMs, result.nextDueMs ?? Infinity), controller.signal);
    }
  }

  const loop = follow();
  return {
    async flush() {
      return (await exclusive(true)).delivered;
    },
    async pending() {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM bv_es_outbox
        WHERE delivered_at IS NULL AND failed_at IS NULL`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      controller.abort();
      unsubscribe();
      await listener?.close();
      await loop;
      await running?.catch(() => undefined); // its failure was logged by the loop
      await sql`DELETE FROM bv_es_outbox_lease WHERE name = 'relay' AND owner = ${owner}`
        .execute(db)
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'could not give the outbox lease back; it expires'),
        );
    },
  };
}

function toEvent(row: OutboxRow): BvEvent {
  try {
    return new CloudEvent(row.event, false) as BvEvent;
  } catch (error) {
    throw new ValidationError(`outbox row ${String(row.id)} is not a CloudEvent: ${String(error)}`, {
      cause: error,
    });
  }
}
