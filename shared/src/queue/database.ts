import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Kysely, sql } from 'kysely';
import { type Database, migrate } from '../db/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { queueMetrics } from './metrics.js';
import {
  type ConsumeOptions,
  checkQueueName,
  type DeadLetter,
  type Delivery,
  type DeliveryHandler,
  type PublishOptions,
  type Queue,
  type QueueMessage,
  type QueueOptions,
  queueDefaults,
  type Subscription,
} from './port.js';

export interface DatabaseQueueOptions {
  database: Database;
  logger: Logger;
  metrics: Registry;
  /** How long a handed-out message stays invisible before it counts as abandoned (consumer died). */
  leaseMs?: number;
  /** How often an idle consumer looks for due messages (publishes in this process wake it at once). */
  pollMs?: number;
  failureDelayMs?: number;
}

const migrations = {
  '001_queue': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE bv_queue_queues (
        name text PRIMARY KEY,
        max_attempts integer NOT NULL
      )`.execute(db);
      await sql`CREATE TABLE bv_queue_messages (
        seq bigserial PRIMARY KEY,
        queue text NOT NULL,
        id text NOT NULL,
        key text,
        payload jsonb NOT NULL,
        attempt integer NOT NULL DEFAULT 1,
        handed integer NOT NULL DEFAULT 0,
        visible_at timestamptz NOT NULL DEFAULT now(),
        lease text,
        dead boolean NOT NULL DEFAULT false,
        reason text,
        UNIQUE (queue, id)
      )`.execute(db);
      await sql`CREATE INDEX bv_queue_due ON bv_queue_messages (queue, visible_at) WHERE NOT dead`.execute(
        db,
      );
    },
  },
};

interface Row {
  seq: string;
  id: string;
  key: string | null;
  payload: unknown;
  attempt: number;
  handed: number;
  lease: string;
}

/**
 * The embedded default: a table of messages. A consumer claims due rows with
 * `FOR UPDATE SKIP LOCKED` (many consumers, even in many processes on one PostgreSQL, never take
 * the same row), marks them leased until `now() + leaseMs`, and deletes the row on ack. A delay is
 * a future `visible_at`; an abandoned lease simply expires and the row is due again.
 */
export async function openDatabaseQueue(options: DatabaseQueueOptions): Promise<Queue> {
  const { database, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const failureDelayMs = options.failureDelayMs ?? queueDefaults.failureDelayMs;
  await migrate(database, 'queue', migrations);
  const db = database.kysely;
  const metrics = queueMetrics(options.metrics, 'database');
  const wake = new EventEmitter();
  wake.setMaxListeners(0);
  const maxAttempts = new Map<string, number>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  async function declare(queue: string, opts: QueueOptions = {}): Promise<void> {
    checkQueueName(queue);
    const attempts = opts.maxAttempts ?? queueDefaults.maxAttempts;
    if (maxAttempts.get(queue) === attempts) return;
    await sql`INSERT INTO bv_queue_queues (name, max_attempts) VALUES (${queue}, ${attempts})
      ON CONFLICT (name) DO UPDATE SET max_attempts = EXCLUDED.max_attempts`.execute(db);
    maxAttempts.set(queue, attempts);
  }

  async function attemptsOf(queue: string): Promise<number> {
    const known = maxAttempts.get(queue);
    if (known !== undefined) return known;
    const { rows } = await sql<{ max_attempts: number }>`
      SELECT max_attempts FROM bv_queue_queues WHERE name = ${queue}`.execute(db);
    const found = rows[0]?.max_attempts;
    if (found === undefined) {
      await declare(queue);
      return queueDefaults.maxAttempts;
    }
    maxAttempts.set(queue, found);
    return found;
  }

  async function publish(queue: string, payload: unknown, opts: PublishOptions = {}): Promise<void> {
    if (closed) throw new Error('queue closed');
    checkQueueName(queue);
    if (!maxAttempts.has(queue)) await attemptsOf(queue);
    const delay = Math.max(0, opts.delayMs ?? 0);
    await sql`INSERT INTO bv_queue_messages (queue, id, key, payload, visible_at)
      VALUES (${queue}, ${opts.id ?? randomUUID()}, ${opts.key ?? null}, ${JSON.stringify(payload)}::jsonb,
        now() + make_interval(secs => ${delay / 1000}))
      ON CONFLICT (queue, id) DO NOTHING`.execute(db);
    metrics.published.inc({ queue });
    wake.emit(queue);
  }

  async function claim(queue: string, limit: number): Promise<Row[]> {
    const lease = randomUUID();
    const { rows } = await sql<Row>`
      UPDATE bv_queue_messages SET lease = ${lease}, handed = handed + 1,
        visible_at = now() + make_interval(secs => ${leaseMs / 1000})
      WHERE seq IN (
        SELECT seq FROM bv_queue_messages
        WHERE queue = ${queue} AND NOT dead AND visible_at <= now()
        ORDER BY visible_at, seq LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING seq, id, key, payload, attempt, handed, lease`.execute(db);
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq));
  }

  function delivery(queue: string, row: Row): Delivery {
    let settled = false;
    const once = async (what: string, run: () => Promise<unknown>) => {
      if (settled) throw new Error(`delivery ${row.id} already settled (${what})`);
      settled = true;
      await run();
    };
    const message: QueueMessage = {
      id: row.id,
      queue,
      payload: row.payload,
      attempt: row.attempt,
      redelivered: row.handed > 1,
      ...(row.key !== null ? { key: row.key } : {}),
    };
    const toDead = (reason: string) =>
      sql`UPDATE bv_queue_messages SET dead = true, reason = ${reason}, lease = NULL
        WHERE seq = ${row.seq} AND lease = ${row.lease}`.execute(db);
    return {
      ...message,
      get settled() {
        return settled;
      },
      ack: () =>
        once('ack', async () => {
          // The lease token makes a late ack of an expired, re-leased message a no-op.
          await sql`DELETE FROM bv_queue_messages WHERE seq = ${row.seq} AND lease = ${row.lease}`.execute(
            db,
          );
          metrics.settled.inc({ queue, outcome: 'ack' });
        }),
      retry: (delayMs, reason) =>
        once('retry', async () => {
          if (row.attempt >= (await attemptsOf(queue))) {
            await toDead(reason ?? `gave up after ${row.attempt} attempts`);
            metrics.settled.inc({ queue, outcome: 'dead' });
            return;
          }
          await sql`UPDATE bv_queue_messages SET attempt = attempt + 1, handed = 0, lease = NULL,
              visible_at = now() + make_interval(secs => ${Math.max(0, delayMs) / 1000})
            WHERE seq = ${row.seq} AND lease = ${row.lease}`.execute(db);
          metrics.settled.inc({ queue, outcome: 'retry' });
        }),
      deadLetter: (reason) =>
        once('dead', async () => {
          await toDead(reason);
          metrics.settled.inc({ queue, outcome: 'dead' });
        }),
    } as Delivery;
  }

  async function consume(
    queue: string,
    handler: DeliveryHandler,
    opts: ConsumeOptions = {},
  ): Promise<Subscription> {
    checkQueueName(queue);
    await attemptsOf(queue);
    const prefetch = Math.max(1, opts.prefetch ?? queueDefaults.prefetch);
    const inFlight = new Set<Promise<void>>();
    let running = true;
    let sleeper: (() => void) | undefined;
    const nudge = () => sleeper?.();
    wake.on(queue, nudge);

    const handle = async (row: Row) => {
      const d = delivery(queue, row);
      try {
        await handler(d);
      } catch (error) {
        logger.warn({ queue, id: row.id, err: error }, 'queue handler failed; retrying later');
        metrics.handlerErrors.inc({ queue });
      }
      if (!(d as Delivery & { settled: boolean }).settled) {
        await d.retry(failureDelayMs, 'handler did not settle').catch((error: unknown) => {
          logger.error(
            { queue, id: row.id, err: error },
            'could not schedule a retry; the lease will expire',
          );
        });
      }
    };

    const loop = (async () => {
      while (running) {
        let rows: Row[] = [];
        if (inFlight.size < prefetch) {
          try {
            rows = await claim(queue, prefetch - inFlight.size);
          } catch (error) {
            if (!running) break;
            metrics.errors.inc({ queue, operation: 'claim' });
            logger.warn({ queue, err: error }, 'claiming queue messages failed');
          }
        }
        for (const row of rows) {
          const p = handle(row).finally(() => {
            inFlight.delete(p);
            nudge();
          });
          inFlight.add(p);
        }
        if (rows.length === 0 || inFlight.size >= prefetch) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs);
            sleeper = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          sleeper = undefined;
        }
      }
    })();

    const subscription: Subscription = {
      close: async () => {
        if (!running) return;
        running = false;
        wake.off(queue, nudge);
        sleeper?.();
        await loop;
        await Promise.allSettled([...inFlight]);
        subscriptions.delete(subscription);
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  async function deadLetters(queue: string, opts: { limit?: number } = {}): Promise<DeadLetter[]> {
    const { rows } = await sql<{
      id: string;
      key: string | null;
      payload: unknown;
      attempt: number;
      reason: string;
    }>`
      SELECT id, key, payload, attempt, reason FROM bv_queue_messages
      WHERE queue = ${checkQueueName(queue)} AND dead ORDER BY seq LIMIT ${opts.limit ?? 100}`.execute(db);
    return rows.map((r) => ({
      id: r.id,
      payload: r.payload,
      attempts: r.attempt,
      reason: r.reason ?? '',
      ...(r.key !== null ? { key: r.key } : {}),
    }));
  }

  async function redrive(queue: string, ids?: readonly string[]): Promise<number> {
    checkQueueName(queue);
    const filter = ids ? sql`AND id = ANY(${[...ids]})` : sql``;
    const result = await sql`UPDATE bv_queue_messages
      SET dead = false, reason = NULL, attempt = 1, handed = 0, lease = NULL, visible_at = now()
      WHERE queue = ${queue} AND dead ${filter}`.execute(db);
    wake.emit(queue);
    return Number(result.numAffectedRows ?? 0);
  }

  return {
    kind: 'database',
    declare,
    publish,
    consume,
    deadLetters,
    redrive,
    depth: async (queue) => {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM bv_queue_messages
        WHERE queue = ${checkQueueName(queue)} AND NOT dead`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    remove: async (queue) => {
      await sql`DELETE FROM bv_queue_messages WHERE queue = ${checkQueueName(queue)}`.execute(db);
      await sql`DELETE FROM bv_queue_queues WHERE name = ${queue}`.execute(db);
      maxAttempts.delete(queue);
    },
    ping: () => database.ping(),
    close: async () => {
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
    },
  };
}
