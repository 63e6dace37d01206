import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database } from '../db/index.js';
import { Waker } from '../event-log/database/waker.js';
import { silentLogger } from '../log/index.js';
import { counter, createRegistry, gauge } from '../metrics/index.js';
import { backoffDelay } from '../retry/index.js';
import { onNudge } from './nudge.js';
import type { EventStore, EventStoreTransaction } from './port.js';
import { applyEvents, type Projection } from './projection.js';
import { migrateEventStore } from './schema.js';

export interface ProjectionRunnerOptions {
  store: EventStore;
  /** The store's database: the runner is woken by the store's commits on this handle. */
  database: Database;
  projections: readonly Projection[];
  logger?: Logger;
  metrics?: Registry;
  /** Events per transaction while following the log. */
  batchSize?: number;
  /** Events per transaction in `rebuild`: a replay from zero reads the log in bigger pages. */
  rebuildBatchSize?: number;
  /** Fallback poll for events appended by other processes (a commit in this one wakes it at once). */
  pollIntervalMs?: number;
  /** Whether to follow the store in the background; `false` leaves it to `catchUp` calls (tests, tools). */
  follow?: boolean;
}

export const projectionRunnerDefaults = {
  batchSize: 500,
  rebuildBatchSize: 5_000,
  pollIntervalMs: 1_000,
  follow: true,
};

export interface ProjectionRunner {
  /** Applies every event up to the current head to one projection (or all); returns events applied. */
  catchUp(name?: string): Promise<number>;
  /** Empties the projection (its `reset`), sets its checkpoint to zero and replays the whole log. */
  rebuild(name: string): Promise<number>;
  /** The global position the projection has applied up to. */
  checkpoint(name: string): Promise<bigint>;
  close(): Promise<void>;
}

/**
 * Keeps projections up to date: for each, in one transaction, it locks its checkpoint row, reads
 * the next batch after it (`readAll`, which never skips), applies it and moves the checkpoint.
 * The row lock serialises runners in several processes, so each batch is applied once. A batch
 * that fails rolls back and is retried with backoff: the projection stalls on a poison event
 * (counted, logged) rather than skip it and be wrong for good.
 */
export async function startProjections(options: ProjectionRunnerOptions): Promise<ProjectionRunner> {
  const opts = { ...projectionRunnerDefaults, ...options };
  await migrateEventStore(opts.database);
  const byName = new Map(opts.projections.map((p) => [p.name, p]));
  if (byName.size !== opts.projections.length) throw new Error('projection names must be unique');
  for (const p of opts.projections)
    if (p.follows !== undefined && !byName.has(p.follows))
      throw new Error(`projection ${p.name} follows ${p.follows}, which this runner does not run`);
  const logger = (opts.logger ?? silentLogger).child({ subsystem: 'projections' });
  const registry = opts.metrics ?? createRegistry();
  const applied = counter(registry, 'bv_projection_events_total', 'Events applied by a projection', [
    'projection',
  ]);
  const failures = counter(
    registry,
    'bv_projection_failures_total',
    'Projection batches rolled back by an error',
    ['projection'],
  );
  const position = gauge(
    registry,
    'bv_projection_position',
    'Global position a projection has applied up to',
    ['projection'],
  );

  async function step(
    projection: Projection,
    tx: EventStoreTransaction,
    batchSize: number,
  ): Promise<{ count: number; more: boolean }> {
    await sql`INSERT INTO bv_es_checkpoints (name, position) VALUES (${projection.name}, 0)
      ON CONFLICT (name) DO NOTHING`.execute(tx.sql);
    const { rows } = await sql<{ position: string | number | bigint }>`SELECT position FROM bv_es_checkpoints
      WHERE name = ${projection.name} FOR UPDATE`.execute(tx.sql);
    const after = BigInt(rows[0]?.position ?? 0);
    const ceiling =
      projection.follows === undefined ? undefined : await checkpointOf(tx.sql, projection.follows);
    if (ceiling !== undefined && ceiling <= after) return { count: 0, more: false };
    const read = await tx.readAll({
      after,
      limit: batchSize,
      ...(projection.types ? { types: projection.types } : {}),
    });
    const events = ceiling === undefined ? read : read.filter((e) => e.position <= ceiling);
    const last = events.at(-1);
    if (!last) return { count: 0, more: false };
    await applyEvents(projection, tx, events);
    await sql`UPDATE bv_es_checkpoints SET position = ${last.position.toString()}::bigint, updated_at = now()
      WHERE name = ${projection.name}`.execute(tx.sql);
    position.set({ projection: projection.name }, Number(last.position));
    return { count: events.length, more: read.length === batchSize && events.length === read.length };
  }

  async function checkpointOf(db: EventStoreTransaction['sql'], name: string): Promise<bigint> {
    const { rows } = await sql<{ position: string | number | bigint }>`SELECT position FROM bv_es_checkpoints
      WHERE name = ${name}`.execute(db);
    return BigInt(rows[0]?.position ?? 0);
  }

  async function catchUpOne(projection: Projection, batchSize = opts.batchSize): Promise<number> {
    let total = 0;
    for (;;) {
      const { count, more } = await opts.store.transaction((tx) => step(projection, tx, batchSize));
      total += count;
      applied.inc({ projection: projection.name }, count);
      if (!more) return total;
    }
  }

  function find(name: string): Projection {
    const p = byName.get(name);
    if (!p) throw new Error(`unknown projection ${name}`);
    return p;
  }

  const controller = new AbortController();
  const waker = new Waker();
  const unsubscribe = onNudge(opts.database, 'events', () => waker.notify());
  const failing = new Map<string, { attempt: number; until: number }>();

  async function follow(): Promise<void> {
    while (!controller.signal.aborted) {
      let nextWake = opts.pollIntervalMs;
      for (const projection of opts.projections) {
        const f = failing.get(projection.name);
        if (f && f.until > Date.now()) {
          nextWake = Math.min(nextWake, f.until - Date.now());
          continue;
        }
        try {
          await catchUpOne(projection);
          failing.delete(projection.name);
        } catch (error) {
          if (controller.signal.aborted) return;
          const attempt = (f?.attempt ?? 0) + 1;
          const delay = backoffDelay(attempt, {
            initialDelayMs: 100,
            maxDelayMs: 30_000,
            factor: 2,
            jitter: 0.5,
          });
          failing.set(projection.name, { attempt, until: Date.now() + delay });
          failures.inc({ projection: projection.name });
          logger.error(
            { err: error, projection: projection.name, attempt, retryInMs: delay },
            'projection batch failed; retrying',
          );
          nextWake = Math.min(nextWake, delay);
        }
      }
      await waker.wait(nextWake, controller.signal);
    }
  }

  const loop = opts.follow ? follow() : Promise.resolve();

  return {
    async catchUp(name) {
      const list = name === undefined ? opts.projections : [find(name)];
      let total = 0;
      for (const p of list) total += await catchUpOne(p);
      return total;
    },
    async rebuild(name) {
      const projection = find(name);
      const reset = projection.reset;
      if (!reset) throw new Error(`projection ${name} has no reset hook, so it cannot be rebuilt`);
      await opts.store.transaction(async (tx) => {
        // Taking the checkpoint row first keeps a follower from applying a batch in between.
        await sql`INSERT INTO bv_es_checkpoints (name, position) VALUES (${name}, 0)
          ON CONFLICT (name) DO NOTHING`.execute(tx.sql);
        await sql`SELECT position FROM bv_es_checkpoints WHERE name = ${name} FOR UPDATE`.execute(tx.sql);
        await reset(tx);
        await sql`UPDATE bv_es_checkpoints SET position = 0, updated_at = now() WHERE name = ${name}`.execute(
          tx.sql,
        );
      });
      logger.info({ projection: name }, 'projection reset; replaying the log');
      const count = await catchUpOne(projection, opts.rebuildBatchSize);
      logger.info({ projection: name, events: count }, 'projection rebuilt');
      return count;
    },
    async checkpoint(name) {
      find(name);
      return checkpointOf(opts.database.kysely, name);
    },
    async close() {
      controller.abort();
      unsubscribe();
      await loop;
    },
  };
}
