import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Database } from '../db/index.js';
import { ConcurrencyError, ValidationError } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { counter, createRegistry, histogram } from '../metrics/index.js';
import { appendWithin, checkInput, type TransactionState } from './append.js';
import { appendAutocommit, appendEachWithin } from './append-each.js';
import { notifyChannel } from './notify.js';
import { nudge } from './nudge.js';
import { enqueueWithin } from './outbox-write.js';
import type {
  AppendRequest,
  AppendResult,
  EventStore,
  EventStoreTransaction,
  Snapshot,
  StoredEvent,
} from './port.js';
import { selectAll, selectHead, selectStream } from './rows.js';
import { migrateEventStore, orderLockKey } from './schema.js';
import { type Upcaster, Upcasters } from './upcasters.js';

export interface EventStoreOptions {
  upcasters?: readonly Upcaster[];
  logger?: Logger;
  metrics?: Registry;
}

// Ten parameters per row: one statement holds at most 6,000 rows (PostgreSQL: 65,535 parameters).
const autocommitRows = 6_000;

const snapshotSchema = z.object({
  streamId: z.string().min(1).max(300),
  version: z.number().int().nonnegative(),
  schemaVersion: z.number().int().positive(),
  state: z.unknown().refine((s) => s !== undefined, 'state is required'),
});
const readAllSchema = z.object({
  after: z.bigint().nonnegative(),
  limit: z.number().int().positive().max(100_000),
  types: z.array(z.string().min(1)).optional(),
});

/**
 * The event store over the SQL port (PGlite or PostgreSQL), in the caller's database so read
 * models, outbox rows and events commit together. Migrates its own tables.
 */
export async function createEventStore(
  database: Database,
  options: EventStoreOptions = {},
): Promise<EventStore> {
  await migrateEventStore(database);
  const lockKey = await orderLockKey(database.kysely);
  // Inlined into a simple query (no parameters there): a number the server computed, checked.
  if (!/^-?\d+$/.test(lockKey)) throw new Error(`unexpected order lock key ${lockKey}`);
  const lockLiteral = `${lockKey}::bigint`;
  const upcasters = new Upcasters(options.upcasters);
  const logger = (options.logger ?? silentLogger).child({ subsystem: 'event-store' });
  const registry = options.metrics ?? createRegistry();
  const appended = counter(
    registry,
    'bv_event_store_appended_events_total',
    'Events appended (committed or not)',
  );
  const conflicts = counter(
    registry,
    'bv_event_store_conflicts_total',
    'Appends refused for an unexpected stream version',
  );
  const seconds = histogram(
    registry,
    'bv_event_store_transaction_seconds',
    'Event store transactions, begin to commit',
    ['outcome'],
  );
  const db = database.kysely;

  async function transaction<T>(work: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
    const stop = seconds.startTimer();
    let state: TransactionState | undefined;
    try {
      const result = await db.transaction().execute(async (trx) => {
        const s: TransactionState = {
          db: trx,
          lockKey,
          upcasters,
          // PGlite is one connection in one process: its transactions already run one at a time,
          // so the order lock would only cost a statement.
          locked: database.kind === 'pglite',
          appended: 0,
          published: 0,
        };
        state = s;
        const tx: EventStoreTransaction = {
          sql: trx,
          append: (streamId, expected, events) => appendWithin(s, streamId, expected, events),
          appendEach: (requests) => appendEachWithin(s, requests),
          readStream: (streamId, opts) => selectStream(trx, upcasters, streamId, opts?.fromVersion),
          readAll: async (opts) => selectAll(trx, upcasters, checkReadAll(opts)),
          publish: (topic, events) => enqueueWithin(s, topic, events),
        };
        const value = await work(tx);
        // Delivered by PostgreSQL at commit, to followers in other processes.
        if (database.kind === 'postgres' && (s.appended > 0 || s.published > 0)) {
          const what = s.published > 0 ? (s.appended > 0 ? 'both' : 'outbox') : 'events';
          await sql`SELECT pg_notify(${notifyChannel}, ${what})`.execute(trx);
        }
        return value;
      });
      stop({ outcome: 'commit' });
      if (state && state.appended > 0) {
        appended.inc(state.appended);
        nudge(database, 'events');
      }
      if (state && state.published > 0) nudge(database, 'outbox');
      return result;
    } catch (error) {
      stop({ outcome: 'rollback' });
      if (error instanceof ConcurrencyError) {
        conflicts.inc();
        logger.debug({ err: error, details: error.details }, 'append refused: stream version moved');
      }
      throw error;
    }
  }

  /**
   * `append` and `appendMany` know up front that they append, so on PostgreSQL they are first
   * tried as one autocommitted statement (lock, check, INSERT and NOTIFY: one round trip, see
   * `appendAutocommit`). When that statement's snapshot proved too old (a concurrent append to
   * one of the streams), or the append is too big for one statement, they take the order lock
   * in BEGIN's round trip and send the NOTIFY in COMMIT's (two statements each, in one simple
   * query) around one INSERT: three round trips instead of five or more. PGlite is in process,
   * where a round trip costs nothing, so it takes the general path.
   */
  async function appendAll(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (new Set(requests.map((r) => r.streamId)).size !== requests.length) {
      // One stream named twice: each append must see the one before it, so one at a time.
      return transaction(async (tx) => {
        const results: AppendResult[] = [];
        for (const r of requests) results.push(await tx.append(r.streamId, r.expected, r.events));
        return results;
      });
    }
    if (database.kind !== 'postgres') {
      return transaction(async (tx) => {
        // One stream: the single-stream INSERT binds fewer parameters per row (PGlite pays for each).
        if (requests.length === 1) {
          const r = requests[0] as AppendRequest;
          return [await tx.append(r.streamId, r.expected, r.events)];
        }
        const results = await tx.appendEach(requests);
        return results.map(throwConflict);
      });
    }
    for (const r of requests) checkInput(r.streamId, r.expected, r.events);
    const stop = seconds.startTimer();
    try {
      if (requests.reduce((n, r) => n + r.events.length, 0) <= autocommitRows) {
        const one = await appendAutocommit(db, lockKey, notifyChannel, upcasters, requests);
        if (one instanceof ConcurrencyError) throw one;
        if (one !== 'retry') {
          stop({ outcome: 'commit' });
          appended.inc(requests.reduce((n, r) => n + r.events.length, 0));
          nudge(database, 'events');
          return one;
        }
      }
      const results = await db.connection().execute(async (conn) => {
        const s: TransactionState = { db: conn, lockKey, upcasters, locked: true, appended: 0, published: 0 };
        await sql.raw(`BEGIN; SELECT pg_advisory_xact_lock(${lockLiteral})`).execute(conn);
        try {
          const list = (await appendEachWithin(s, requests)).map(throwConflict);
          await sql.raw(`SELECT pg_notify('${notifyChannel}', 'events'); COMMIT`).execute(conn);
          return { list, appended: s.appended };
        } catch (error) {
          // A failed statement already ended the transaction's work; this only closes it.
          await sql
            .raw('ROLLBACK')
            .execute(conn)
            .catch(() => undefined);
          throw error;
        }
      });
      stop({ outcome: 'commit' });
      appended.inc(results.appended);
      nudge(database, 'events');
      return results.list;
    } catch (error) {
      stop({ outcome: 'rollback' });
      if (error instanceof ConcurrencyError) {
        conflicts.inc();
        logger.debug({ err: error, details: error.details }, 'append refused: stream version moved');
      }
      throw error;
    }
  }

  return {
    append: async (streamId, expected, events) => {
      const [result] = await appendAll([{ streamId, expected, events }]);
      return result as AppendResult;
    },
    appendMany: (requests: readonly AppendRequest[]) => appendAll(requests),
    readStream: (streamId, opts) => selectStream(db, upcasters, streamId, opts?.fromVersion),
    readAll: async (opts) => selectAll(db, upcasters, checkReadAll(opts)),
    head: () => selectHead(db),
    transaction,
    loadSnapshot: <S>(streamId: string, schemaVersion: number) =>
      loadSnapshot<S>(db, streamId, schemaVersion),
    saveSnapshot: async <S>(snapshot: Snapshot<S>) => {
      const s = snapshotSchema.safeParse(snapshot);
      if (!s.success)
        throw new ValidationError(
          `snapshot refused: ${s.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      // A snapshot never goes back in time: two savers racing keep the newer one.
      await sql`INSERT INTO bv_es_snapshots (stream_id, version, schema_version, state)
        VALUES (${snapshot.streamId}, ${snapshot.version}, ${snapshot.schemaVersion}, ${JSON.stringify(snapshot.state)}::jsonb)
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,
          schema_version = excluded.schema_version, state = excluded.state, saved_at = now()
        WHERE bv_es_snapshots.version <= excluded.version
          OR bv_es_snapshots.schema_version <> excluded.schema_version`.execute(db);
    },
  };
}

function throwConflict(result: AppendResult | ConcurrencyError): AppendResult {
  if (result instanceof ConcurrencyError) throw result;
  return result;
}

function checkReadAll(options: { after: bigint; limit: number; types?: readonly string[] }) {
  const r = readAllSchema.safeParse(options);
  if (!r.success)
    throw new ValidationError(
      `readAll refused: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return options;
}

async function loadSnapshot<S>(
  db: Kysely<unknown>,
  streamId: string,
  schemaVersion: number,
): Promise<Snapshot<S> | undefined> {
  const { rows } = await sql<{ version: number; schema_version: number; state: S }>`
    SELECT version, schema_version, state FROM bv_es_snapshots WHERE stream_id = ${streamId}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  if (Number(row.schema_version) !== schemaVersion) {
    // Folded with another state shape: useless to this code, so it goes, and the caller folds
    // the stream from the start and saves a fresh one.
    await sql`DELETE FROM bv_es_snapshots WHERE stream_id = ${streamId}
      AND schema_version = ${row.schema_version}`.execute(db);
    return undefined;
  }
  return { streamId, version: Number(row.version), schemaVersion, state: row.state };
}

export type { StoredEvent };
