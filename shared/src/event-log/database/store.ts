import { type Kysely, sql } from 'kysely';
import { partitionForKey } from './partition.js';
import type { EventLogTables } from './schema.js';

/** One record as the database log stores it: the key and the CloudEvent's JSON form. */
export interface StoredRecord {
  key: string;
  json: unknown;
}

/** Rows per INSERT, far below PostgreSQL's 65535 bind parameters. */
const insertChunk = 500;

/**
 * Appends records to a topic inside the caller's transaction. Each partition's counter row is
 * bumped with `UPDATE … RETURNING`, which holds its row lock until the transaction ends: a
 * concurrent publisher to the same partition waits, so offsets are gap-free and a reader never
 * sees offset n+1 committed before offset n. Partitions are locked in ascending order so two
 * publishers never deadlock.
 */
export async function appendRecords(
  trx: Kysely<EventLogTables>,
  topic: string,
  partitions: number,
  records: readonly StoredRecord[],
): Promise<void> {
  const byPartition = new Map<number, StoredRecord[]>();
  for (const record of records) {
    const p = partitionForKey(record.key, partitions);
    const list = byPartition.get(p);
    if (list) list.push(record);
    else byPartition.set(p, [record]);
  }
  for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
    const list = byPartition.get(partition) ?? [];
    const { rows } = await sql<{ next_offset: string | number }>`
      UPDATE bv_event_log_partitions SET next_offset = next_offset + ${list.length}
      WHERE topic = ${topic} AND partition = ${partition}
      RETURNING next_offset`.execute(trx);
    const end = rows[0]?.next_offset;
    if (end === undefined) throw new Error(`event log partition ${topic}/${partition} does not exist`);
    let position = Number(end) - list.length;
    for (let i = 0; i < list.length; i += insertChunk) {
      const values = list
        .slice(i, i + insertChunk)
        .map(
          (record) =>
            sql`(${topic}, ${partition}, ${position++}, ${record.key}, ${JSON.stringify(record.json)}::jsonb)`,
        );
      await sql`INSERT INTO bv_event_log_events (topic, partition, position, key, event)
        VALUES ${sql.join(values)}`.execute(trx);
    }
  }
}

/**
 * Creates a topic with `partitions` partitions unless it exists, and returns the partition count
 * it has: the count is fixed when a topic is first used, so changing the setting later never
 * moves a key to another partition (which would break its order).
 */
export async function ensureTopic(
  db: Kysely<EventLogTables>,
  topic: string,
  partitions: number,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`INSERT INTO bv_event_log_topics (topic, partitions) VALUES (${topic}, ${partitions})
      ON CONFLICT (topic) DO NOTHING`.execute(trx);
    const { rows } = await sql<{ partitions: number }>`
      SELECT partitions FROM bv_event_log_topics WHERE topic = ${topic}`.execute(trx);
    const count = Number(rows[0]?.partitions ?? partitions);
    await sql`INSERT INTO bv_event_log_partitions (topic, partition)
      SELECT ${topic}, g FROM generate_series(0, ${count - 1}::integer) AS g
      ON CONFLICT (topic, partition) DO NOTHING`.execute(trx);
    return count;
  });
}
