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
 * Appends records to a topic. Each partition's counter row is bumped with `UPDATE … RETURNING`,
 * which holds its row lock until the transaction ends: a concurrent publisher to the same
 * partition waits, so offsets are gap-free and a reader never sees offset n+1 committed before
 * offset n. The bump and the insert are one statement, so the usual publish (one key, one
 * partition) is one round trip and needs no transaction of its own; records for several
 * partitions take one statement each, in one transaction, partitions in ascending order so two
 * publishers never deadlock.
 */
export async function appendRecords(
  db: Kysely<EventLogTables>,
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
  const chunks: Array<{ partition: number; records: StoredRecord[] }> = [];
  for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
    const list = byPartition.get(partition) ?? [];
    for (let i = 0; i < list.length; i += insertChunk)
      chunks.push({ partition, records: list.slice(i, i + insertChunk) });
  }
  const work = async (trx: Kysely<EventLogTables>) => {
    for (const chunk of chunks) await appendToPartition(trx, topic, chunk.partition, chunk.records);
  };
  if (chunks.length === 1 || db.isTransaction) await work(db);
  else await db.transaction().execute(work);
}

async function appendToPartition(
  db: Kysely<EventLogTables>,
  topic: string,
  partition: number,
  records: readonly StoredRecord[],
): Promise<void> {
  const values = records.map(
    (record, i) => sql`(${i}::integer, ${record.key}::text, ${JSON.stringify(record.json)}::jsonb)`,
  );
  const { rows } = await sql<{ inserted: number }>`
    WITH bumped AS (
      UPDATE bv_event_log_partitions SET next_offset = next_offset + ${records.length}
      WHERE topic = ${topic} AND partition = ${partition}
      RETURNING next_offset - ${records.length} AS start
    ), inserted AS (
      INSERT INTO bv_event_log_events (topic, partition, position, key, event)
      SELECT ${topic}, ${partition}, bumped.start + v.ord, v.key, v.event
      FROM bumped, (VALUES ${sql.join(values)}) AS v(ord, key, event)
      RETURNING 1
    )
    SELECT count(*)::integer AS inserted FROM inserted`.execute(db);
  if (Number(rows[0]?.inserted ?? 0) !== records.length)
    throw new Error(`event log partition ${topic}/${partition} does not exist`);
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
