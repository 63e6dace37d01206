import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { ConcurrencyError, ConflictError, ValidationError } from '../errors/index.js';
import type { AppendResult, ExpectedVersion, NewEvent } from './port.js';
import { streamVersion } from './rows.js';
import type { Upcasters } from './upcasters.js';

/** What one store transaction carries between its appends, publishes and commit. */
export interface TransactionState {
  db: Kysely<unknown>;
  lockKey: string;
  upcasters: Upcasters;
  /** Whether this transaction holds the order lock already. */
  locked: boolean;
  appended: number;
  published: number;
}

/**
 * The global order without gaps: every transaction that appends (or writes the outbox) takes one
 * transaction-scoped advisory lock before it draws positions, and keeps it until it commits or
 * rolls back. PostgreSQL makes a commit visible before it releases the transaction's locks, so a
 * position is drawn only after every smaller one is visible or rolled back: a reader of `readAll`
 * can never see position n+1 while n is still to come. The price is that appending transactions
 * run their tails one at a time; keep work after the first append short.
 */
export async function takeOrderLock(state: TransactionState): Promise<void> {
  if (state.locked) return;
  await sql`SELECT pg_advisory_xact_lock(${state.lockKey}::bigint)`.execute(state.db);
  state.locked = true;
}

const streamIdSchema = z.string().min(1).max(300);
const expectedSchema = z.union([
  z.number().int().nonnegative(),
  z.enum(['no_stream', 'stream_exists', 'any']),
]);
const newEventSchema = z.object({
  type: z.string().min(1).max(300),
  data: z.unknown().refine((d) => d !== undefined, 'data is required'),
  metadata: z.record(z.string(), z.unknown()).optional(),
  id: z.uuid().optional(),
});
const eventsSchema = z.array(newEventSchema).min(1).max(10_000);

// Seven parameters per row; PostgreSQL allows 65,535 in one statement.
const rowsPerInsert = 1_000;

export async function appendWithin(
  state: TransactionState,
  streamId: string,
  expected: ExpectedVersion,
  events: readonly NewEvent[],
): Promise<AppendResult> {
  checkInput(streamId, expected, events);
  await takeOrderLock(state);
  // The version check rides in the INSERT (one round trip fewer per append); it runs after the
  // lock was taken, so its snapshot sees every append committed before ours.
  let version = 0;
  let position = 0n;
  try {
    for (let start = 0; start < events.length; start += rowsPerInsert) {
      const chunk = events.slice(start, start + rowsPerInsert);
      const values = chunk.map(
        (e, i) =>
          sql`(${e.id ?? randomUUID()}, ${start + i + 1}::integer, ${e.type}, ${state.upcasters.current(e.type)}::integer,
            ${JSON.stringify(e.data)}, ${JSON.stringify(e.metadata ?? {})})`,
      );
      const check = start === 0 ? versionCondition(expected) : sql`true`;
      const { rows } = await sql<{ position: string | number | bigint; version: number }>`
        WITH cur AS (SELECT coalesce(max(version), 0) AS v FROM bv_es_events WHERE stream_id = ${streamId})
        INSERT INTO bv_es_events (id, stream_id, version, type, schema_version, data, metadata)
        SELECT n.id::uuid, ${streamId}, cur.v + n.ord, n.type, n.sv, n.data::jsonb, n.meta::jsonb
        FROM cur, (VALUES ${sql.join(values)}) AS n (id, ord, type, sv, data, meta)
        WHERE ${check}
        ORDER BY n.ord
        RETURNING position, version`.execute(state.db);
      if (rows.length === 0) {
        const actual = await streamVersion(state.db, streamId);
        throw new ConcurrencyError(
          `stream ${streamId} is at version ${actual}, the append expected ${describeExpected(expected)}`,
          { details: { streamId, expected, actual } },
        );
      }
      for (const r of rows) {
        const p = BigInt(r.position);
        if (p > position) position = p;
        if (Number(r.version) > version) version = Number(r.version);
      }
    }
  } catch (error) {
    throw translateInsertError(error, streamId);
  }
  state.appended += events.length;
  return { streamId, version, position };
}

export function checkInput(streamId: string, expected: ExpectedVersion, events: readonly NewEvent[]): void {
  const problems: string[] = [];
  const s = streamIdSchema.safeParse(streamId);
  if (!s.success) problems.push(`streamId: ${s.error.issues[0]?.message}`);
  const x = expectedSchema.safeParse(expected);
  if (!x.success) problems.push(`expected version: ${x.error.issues[0]?.message}`);
  const e = eventsSchema.safeParse(events);
  if (!e.success)
    problems.push(
      ...e.error.issues.map((i) => `events${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`),
    );
  if (problems.length > 0) throw new ValidationError(`append refused: ${problems.join('; ')}`);
}

/** The version check on `cur.v`, the stream's version before the append. */
export function versionCondition(expected: ExpectedVersion) {
  if (expected === 'any') return sql`true`;
  if (expected === 'no_stream') return sql`cur.v = 0`;
  if (expected === 'stream_exists') return sql`cur.v > 0`;
  return sql`cur.v = ${expected}::integer`;
}

export function describeExpected(expected: ExpectedVersion): string {
  if (expected === 'no_stream') return 'no stream';
  if (expected === 'stream_exists') return 'an existing stream';
  if (expected === 'any') return 'any version';
  return `version ${expected}`;
}

export function translateInsertError(error: unknown, streamId: string): unknown {
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  if (e?.code !== '23505') return error;
  const what = `${String(e.constraint ?? '')} ${String(e.message ?? '')}`;
  // The order lock makes a version clash impossible between our own writers; this is the
  // backstop for a writer that bypassed it.
  if (what.includes('stream_id')) {
    return new ConcurrencyError(`stream ${streamId} was appended to concurrently`, {
      cause: error,
      details: { streamId },
    });
  }
  return new ConflictError(`an event with the same id is already stored (stream ${streamId})`, {
    cause: error,
    details: { streamId },
  });
}
