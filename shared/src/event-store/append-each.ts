import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { ConcurrencyError, ValidationError } from '../errors/index.js';
import {
  appendWithin,
  checkInput,
  describeExpected,
  type TransactionState,
  takeOrderLock,
  translateInsertError,
  versionCondition,
} from './append.js';
import type { AppendRequest, AppendResult, ExpectedVersion } from './port.js';
import { streamVersion } from './rows.js';
import type { Upcasters } from './upcasters.js';

// Ten parameters per row; PostgreSQL allows 65,535 in one statement.
const rowsPerInsert = 6_000;

/**
 * Appends to several distinct streams in one INSERT (one round trip for a whole group commit),
 * each request checked against its own expected version inside the statement: a request whose
 * stream moved writes nothing and gets a `ConcurrencyError` back in its slot, the others are
 * written. Positions follow the order of `requests`.
 */
export async function appendEachWithin(
  state: TransactionState,
  requests: readonly AppendRequest[],
): Promise<(AppendResult | ConcurrencyError)[]> {
  if (requests.length === 0) return [];
  const streams = new Set<string>();
  for (const r of requests) {
    checkInput(r.streamId, r.expected, r.events);
    if (streams.has(r.streamId))
      throw new ValidationError(`append refused: stream ${r.streamId} is named twice in one appendEach`);
    streams.add(r.streamId);
  }
  await takeOrderLock(state);
  const results = new Map<string, AppendResult | ConcurrencyError>();
  let chunk: AppendRequest[] = [];
  let size = 0;
  const flush = async () => {
    if (chunk.length > 0) await insertChunk(state, chunk, results);
    chunk = [];
    size = 0;
  };
  for (const r of requests) {
    if (r.events.length > rowsPerInsert) {
      // Bigger than one statement holds: the single-stream path splits it.
      results.set(
        r.streamId,
        await appendWithin(state, r.streamId, r.expected, r.events).catch(keepConflict),
      );
      continue;
    }
    if (size + r.events.length > rowsPerInsert) await flush();
    chunk.push(r);
    size += r.events.length;
  }
  await flush();
  const out: (AppendResult | ConcurrencyError)[] = [];
  for (const r of requests) {
    const result = results.get(r.streamId);
    if (result instanceof ConcurrencyError) {
      out.push(result);
      continue;
    }
    if (result) {
      out.push(result);
      continue;
    }
    const actual = await streamVersion(state.db, r.streamId);
    out.push(
      new ConcurrencyError(
        `stream ${r.streamId} is at version ${actual}, the append expected ${describeExpected(r.expected)}`,
        { details: { streamId: r.streamId, expected: r.expected, actual } },
      ),
    );
  }
  return out;
}

function keepConflict(error: unknown): ConcurrencyError {
  if (error instanceof ConcurrencyError) return error;
  throw error;
}

async function insertChunk(
  state: TransactionState,
  requests: readonly AppendRequest[],
  results: Map<string, AppendResult | ConcurrencyError>,
): Promise<void> {
  const values = requestRows(state.upcasters, requests);
  let inserted: { stream_id: string; position: string | number | bigint; version: number }[];
  try {
    // Rows are inserted in `seq` order, so positions follow `requests`; `cur` reads each
    // stream's version after the order lock was taken, so it sees every earlier commit.
    ({ rows: inserted } = await sql<{
      stream_id: string;
      position: string | number | bigint;
      version: number;
    }>`
      WITH n AS (
        SELECT * FROM (VALUES ${sql.join(values)}) AS v (seq, id, stream_id, ord, kind, expected, type, sv, data, meta)
      ),
      cur AS (
        SELECT s.stream_id,
          (SELECT coalesce(max(e.version), 0) FROM bv_es_events e WHERE e.stream_id = s.stream_id) AS v
        FROM (SELECT DISTINCT stream_id FROM n) s
      )
      INSERT INTO bv_es_events (id, stream_id, version, type, schema_version, data, metadata)
      SELECT q.id::uuid, q.stream_id, cur.v + q.ord, q.type, q.sv, q.data::jsonb, q.meta::jsonb
      FROM n q JOIN cur ON cur.stream_id = q.stream_id
      WHERE q.kind = 'any' OR (q.kind = 'no_stream' AND cur.v = 0)
        OR (q.kind = 'stream_exists' AND cur.v > 0) OR (q.kind = 'version' AND cur.v = q.expected)
      ORDER BY q.seq
      RETURNING stream_id, position, version`.execute(state.db));
  } catch (error) {
    throw translateInsertError(error, requests.length === 1 ? (requests[0]?.streamId ?? '') : 'of a batch');
  }
  for (const row of inserted) {
    const before = results.get(row.stream_id) as AppendResult | undefined;
    const position = BigInt(row.position);
    const version = Number(row.version);
    results.set(row.stream_id, {
      streamId: row.stream_id,
      version: Math.max(version, before?.version ?? 0),
      position: before && before.position > position ? before.position : position,
    });
  }
  for (const r of requests) if (results.has(r.streamId)) state.appended += r.events.length;
}

function expectedKind(expected: ExpectedVersion): string {
  return typeof expected === 'number' ? 'version' : expected;
}

/**
 * All-or-nothing append of several distinct streams as ONE autocommitted statement (PostgreSQL):
 * the order lock and the NOTIFY ride in a CTE the INSERT joins, so the lock is held before the
 * first position is drawn (gapless order as with the transaction path) and the whole append is
 * one round trip, like a plain INSERT. Rows are inserted only if every request's version check
 * passes. The statement's snapshot is taken before the lock is granted, so a stream appended
 * concurrently may look older than it is: the unique (stream_id, version) index refuses such a
 * row, and the caller answers that case (`'retry'`) through the transaction path, whose check
 * sees every earlier commit. Never partial, never silently wrong.
 */
export async function appendAutocommit(
  db: Kysely<unknown>,
  lockKey: string,
  channel: string,
  upcasters: Upcasters,
  requests: readonly AppendRequest[],
): Promise<AppendResult[] | ConcurrencyError | 'retry'> {
  let inserted: InsertedRow[];
  try {
    const statement =
      requests.length === 1
        ? oneStream(lockKey, channel, upcasters, requests[0] as AppendRequest)
        : severalStreams(lockKey, channel, upcasters, requests);
    ({ rows: inserted } = await statement.execute(db));
  } catch (error) {
    const translated = translateInsertError(
      error,
      requests.length === 1 ? (requests[0]?.streamId ?? '') : 'of a batch',
    );
    if (translated instanceof ConcurrencyError) return 'retry';
    throw translated;
  }
  if (inserted.length === 0) {
    for (const r of requests) {
      const actual = await streamVersion(db, r.streamId);
      if (!versionMatches(r.expected, actual))
        return new ConcurrencyError(
          `stream ${r.streamId} is at version ${actual}, the append expected ${describeExpected(r.expected)}`,
          { details: { streamId: r.streamId, expected: r.expected, actual } },
        );
    }
    // Every check passes now: a stream moved between the statement and this look-up.
    return 'retry';
  }
  const byStream = new Map<string, AppendResult>();
  for (const row of inserted) {
    const before = byStream.get(row.stream_id);
    const position = BigInt(row.position);
    byStream.set(row.stream_id, {
      streamId: row.stream_id,
      version: Math.max(Number(row.version), before?.version ?? 0),
      position: before && before.position > position ? before.position : position,
    });
  }
  return requests.map((r) => byStream.get(r.streamId) as AppendResult);
}

type InsertedRow = { stream_id: string; position: string | number | bigint; version: number };

/**
 * One stream (most appends): its id and check travel once and each row is typed where it is
 * given; for 50 events on PostgreSQL about a quarter less time than the general form, whose rows
 * carry their stream and check and which joins a DISTINCT of them. No row when the check fails.
 */
function oneStream(lockKey: string, channel: string, upcasters: Upcasters, r: AppendRequest) {
  const values = r.events.map(
    (e, i) =>
      sql`(${i + 1}::integer, ${e.id ?? randomUUID()}::uuid, ${e.type}, ${upcasters.current(e.type)}::integer,
        ${JSON.stringify(e.data)}::jsonb, ${JSON.stringify(e.metadata ?? {})}::jsonb)`,
  );
  return sql<InsertedRow>`
    WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(${lockKey}::bigint), pg_notify(${channel}, 'events')),
    cur AS (SELECT coalesce(max(version), 0) AS v FROM bv_es_events WHERE stream_id = ${r.streamId}),
    ins AS (
      INSERT INTO bv_es_events (id, stream_id, version, type, schema_version, data, metadata)
      SELECT n.id, ${r.streamId}, cur.v + n.ord, n.type, n.sv, n.data, n.meta
      FROM l, cur, (VALUES ${sql.join(values)}) AS n (ord, id, type, sv, data, meta)
      WHERE ${versionCondition(r.expected)}
      ORDER BY n.ord
      RETURNING position, version
    )
    SELECT ${r.streamId}::text AS stream_id, max(position) AS position, max(version) AS version
    FROM ins HAVING count(*) > 0`;
}

/** Several streams: each row names its stream and check; every check must pass. */
function severalStreams(
  lockKey: string,
  channel: string,
  upcasters: Upcasters,
  requests: readonly AppendRequest[],
) {
  const values = requestRows(upcasters, requests);
  return sql<InsertedRow>`
    WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(${lockKey}::bigint), pg_notify(${channel}, 'events')),
    n AS (
      SELECT * FROM (VALUES ${sql.join(values)}) AS v (seq, id, stream_id, ord, kind, expected, type, sv, data, meta)
    ),
    cur AS (
      SELECT s.stream_id,
        (SELECT coalesce(max(e.version), 0) FROM bv_es_events e WHERE e.stream_id = s.stream_id) AS v,
        s.kind, s.expected
      FROM (SELECT DISTINCT stream_id, kind, expected FROM n) s
    ),
    ok AS (
      SELECT bool_and(kind = 'any' OR (kind = 'no_stream' AND v = 0) OR (kind = 'stream_exists' AND v > 0)
        OR (kind = 'version' AND v = expected)) AS all_ok FROM cur
    ),
    ins AS (
      INSERT INTO bv_es_events (id, stream_id, version, type, schema_version, data, metadata)
      SELECT q.id::uuid, q.stream_id, cur.v + q.ord, q.type, q.sv, q.data::jsonb, q.meta::jsonb
      FROM l CROSS JOIN ok CROSS JOIN n q JOIN cur ON cur.stream_id = q.stream_id
      WHERE ok.all_ok
      ORDER BY q.seq
      RETURNING stream_id, position, version
    )
    SELECT stream_id, max(position) AS position, max(version) AS version FROM ins GROUP BY stream_id`;
}

function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return actual === expected;
}

/** The rows of several streams' appends, each with its stream and check (seq, id, stream_id, ord, kind, expected, type, sv, data, meta). */
function requestRows(upcasters: Upcasters, requests: readonly AppendRequest[]) {
  let seq = 0;
  return requests.flatMap((r) =>
    r.events.map(
      (e, i) =>
        sql`(${seq++}::integer, ${e.id ?? randomUUID()}, ${r.streamId}, ${i + 1}::integer, ${expectedKind(r.expected)},
          ${typeof r.expected === 'number' ? r.expected : 0}::integer, ${e.type},
          ${upcasters.current(e.type)}::integer, ${JSON.stringify(e.data)}, ${JSON.stringify(e.metadata ?? {})})`,
    ),
  );
}
