import { type Kysely, type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/index.js';
import { ValidationError } from '../errors/index.js';
import type { BvEvent } from '../events/envelope.js';
import { type TransactionState, takeOrderLock } from './append.js';
import { notifyChannel } from './notify.js';
import { nudge } from './nudge.js';

const topicSchema = z.string().regex(/^[a-zA-Z0-9._-]{1,200}$/, 'a topic name of letters, digits, . _ -');

/**
 * Queues CloudEvents in the outbox inside the caller's transaction. The rows take the order lock
 * like appends do, so outbox ids follow commit order and the relay publishes one key's events in
 * the order their transactions committed.
 */
export async function enqueueWithin(
  state: TransactionState,
  topic: string,
  events: BvEvent | readonly BvEvent[],
): Promise<void> {
  const rows = outboxRows(topic, events);
  if (rows.length === 0) return;
  await takeOrderLock(state);
  const values = rows.map((r) => sql`(${topic}, ${r.key}, ${r.event}::jsonb)`);
  await sql`INSERT INTO bv_es_outbox (topic, partition_key, event) VALUES ${sql.join(values)}`.execute(
    state.db,
  );
  state.published += rows.length;
}

/**
 * The outbox for code that keeps its own tables in its own Kysely transaction (inventory counts):
 * call it inside that transaction, so the events commit or roll back with the rows they
 * announce, then `outboxCommitted(database)` after the commit so this process's relay wakes at
 * once (other processes' relays hear the NOTIFY queued here). The event store's tables must exist
 * (`migrateEventStore`, or any store, runner or relay started on the database).
 */
export async function queueOutbox<DB>(
  trx: Kysely<DB>,
  topic: string,
  events: BvEvent | readonly BvEvent[],
): Promise<void> {
  if (Array.isArray(events) && events.length === 0) return;
  await sql`WITH ${outboxInsert(topic, events)} SELECT 1`.execute(trx);
}

/**
 * The outbox insert as common table expressions of the caller's statement (`WITH ${...} SELECT`),
 * for a write whose own rows and outbox rows go in one statement, one round trip. With `chosen`
 * (a query of one integer column: positions in `events`), only those events go in: the statement
 * decides which, e.g. a batch's writes that were not resends. Data-modifying CTEs run whatever
 * the statement selects, so the insert happens once the statement runs.
 */
export function outboxInsert(
  topic: string,
  events: BvEvent | readonly BvEvent[],
  chosen?: RawBuilder<unknown>,
): RawBuilder<unknown> {
  const rows = outboxRows(topic, events);
  const values =
    rows.length === 0
      ? sql`SELECT NULL::integer, NULL::text, NULL::jsonb WHERE false`
      : sql`VALUES ${sql.join(rows.map((r, i) => sql`(${i}::integer, ${r.key}, ${r.event}::jsonb)`))}`;
  // The order lock (the store's key, see schema.ts `orderLockKey`) and the NOTIFY (sent at commit)
  // ride in a materialised CTE the rows join, so the lock is held before the first id is drawn and
  // ids follow commit order as with the store's appends (append-each.ts does the same); neither is
  // taken when no row goes in.
  return sql`outbox_rows AS MATERIALIZED (
      SELECT v.ord, v.partition_key, v.event FROM (${values}) AS v (ord, partition_key, event)
      ${chosen ? sql`WHERE v.ord IN (${chosen})` : sql``}),
    outbox_lock AS MATERIALIZED (
      SELECT pg_advisory_xact_lock(hashtextextended('bv_event_store.' || current_schema(), 0)),
        pg_notify(${notifyChannel}, 'outbox')
      WHERE EXISTS (SELECT 1 FROM outbox_rows)),
    outbox_insert AS (
      INSERT INTO bv_es_outbox (topic, partition_key, event)
      SELECT ${topic}, r.partition_key, r.event FROM outbox_lock, outbox_rows r ORDER BY r.ord)`;
}

/** Wakes this process's outbox relay after a commit that called `queueOutbox`. */
export function outboxCommitted<DB>(handle: Database | Kysely<DB>): void {
  nudge(handle as Database | Kysely<unknown>, 'outbox');
}

/** The events as outbox rows (partition key, JSON), checked: a bad topic or event throws. */
function outboxRows(topic: string, events: BvEvent | readonly BvEvent[]): { key: string; event: string }[] {
  const list = (Array.isArray(events) ? events : [events]) as readonly BvEvent[];
  const t = topicSchema.safeParse(topic);
  if (!t.success)
    throw new ValidationError(`outbox topic ${JSON.stringify(topic)}: ${t.error.issues[0]?.message}`);
  return list.map((event, i) => {
    if (
      typeof event?.partitionkey !== 'string' ||
      event.partitionkey === '' ||
      typeof event.type !== 'string'
    ) {
      throw new ValidationError(`outbox event ${i} for ${topic} is not a CloudEvent with a partitionkey`);
    }
    return { key: event.partitionkey, event: JSON.stringify(event.toJSON()) };
  });
}
