import { type Kysely, sql } from 'kysely';
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
  const values = outboxValues(topic, events);
  if (values.length === 0) return;
  await takeOrderLock(state);
  await sql`INSERT INTO bv_es_outbox (topic, partition_key, event) VALUES ${sql.join(values)}`.execute(
    state.db,
  );
  state.published += values.length;
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
  const values = outboxValues(topic, events);
  if (values.length === 0) return;
  // The same key as the store's order lock (see schema.ts `orderLockKey`). The NOTIFY goes with
  // it (it is sent at commit whenever it was queued): a statement fewer per transaction.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended('bv_event_store.' || current_schema(), 0)),
    pg_notify(${notifyChannel}, 'outbox')`.execute(trx);
  await sql`INSERT INTO bv_es_outbox (topic, partition_key, event) VALUES ${sql.join(values)}`.execute(trx);
}

/** Wakes this process's outbox relay after a commit that called `queueOutbox`. */
export function outboxCommitted<DB>(handle: Database | Kysely<DB>): void {
  nudge(handle as Database | Kysely<unknown>, 'outbox');
}

function outboxValues(topic: string, events: BvEvent | readonly BvEvent[]) {
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
    return sql`(${topic}, ${event.partitionkey}, ${JSON.stringify(event.toJSON())}::jsonb)`;
  });
}
