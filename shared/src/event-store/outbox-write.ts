import { sql } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import type { BvEvent } from '../events/envelope.js';
import { type TransactionState, takeOrderLock } from './append.js';

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
  const list = (Array.isArray(events) ? events : [events]) as readonly BvEvent[];
  if (list.length === 0) return;
  const t = topicSchema.safeParse(topic);
  if (!t.success)
    throw new ValidationError(`outbox topic ${JSON.stringify(topic)}: ${t.error.issues[0]?.message}`);
  const values = list.map((event, i) => {
    if (
      typeof event?.partitionkey !== 'string' ||
      event.partitionkey === '' ||
      typeof event.type !== 'string'
    ) {
      throw new ValidationError(`outbox event ${i} for ${topic} is not a CloudEvent with a partitionkey`);
    }
    return sql`(${topic}, ${event.partitionkey}, ${JSON.stringify(event.toJSON())}::jsonb)`;
  });
  await takeOrderLock(state);
  await sql`INSERT INTO bv_es_outbox (topic, partition_key, event) VALUES ${sql.join(values)}`.execute(
    state.db,
  );
  state.published += list.length;
}
