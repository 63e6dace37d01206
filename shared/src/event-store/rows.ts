import { type Kysely, sql } from 'kysely';
import type { StoredEvent } from './port.js';
import type { EventStoreTables } from './schema.js';
import type { Upcasters } from './upcasters.js';

type EventRow = EventStoreTables['bv_es_events'];

const columns = sql`position, id, stream_id, version, type, schema_version, data, metadata, recorded_at`;

/** A row as the reader sees it: upcast to its type's newest shape. */
function toStoredEvent(row: EventRow, upcasters: Upcasters): StoredEvent {
  return {
    id: row.id,
    streamId: row.stream_id,
    version: Number(row.version),
    position: BigInt(row.position),
    type: row.type,
    schemaVersion: Number(row.schema_version),
    data: upcasters.upcast(row.type, Number(row.schema_version), row.data),
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    recordedAt: row.recorded_at instanceof Date ? row.recorded_at : new Date(row.recorded_at),
  };
}

export async function selectStream(
  db: Kysely<unknown>,
  upcasters: Upcasters,
  streamId: string,
  fromVersion = 1,
): Promise<StoredEvent[]> {
  const { rows } = await sql<EventRow>`SELECT ${columns} FROM bv_es_events
    WHERE stream_id = ${streamId} AND version >= ${fromVersion} ORDER BY version`.execute(db);
  return rows.map((r) => toStoredEvent(r, upcasters));
}

/**
 * The log in global order is read as JSON arrays of up to `eventsPerValue` events, not as nine
 * columns per row. PGlite decodes every field of every row on its own (a buffer copy and a
 * TextDecoder call each, then a parser per field and an object per row): a 5,000-event page of a
 * rebuild cost 45,000 such decodes, the bulk of its time, where one JSON.parse per hundred events
 * reads the same page twice as fast (CPU time). On PostgreSQL both cost about the same. The cap
 * keeps each value far below PostgreSQL's 1 GB limit (and PGlite's WebAssembly memory) whatever
 * the events' size; `position` is unique, so grouping by `position / 100` caps it. Streams keep
 * the column read: an aggregate's few events cost less as plain rows than grouped and sorted.
 */
const eventsPerValue = 100;

type EventTuple = [
  position: string,
  id: string,
  streamId: string,
  version: number,
  type: string,
  schemaVersion: number,
  data: unknown,
  metadata: Record<string, unknown> | null,
  recordedAt: string,
];

function tupleToStoredEvent(tuple: EventTuple, upcasters: Upcasters): StoredEvent {
  const [position, id, streamId, version, type, schemaVersion, data, metadata, recordedAt] = tuple;
  return {
    id,
    streamId,
    version,
    position: BigInt(position),
    type,
    schemaVersion,
    data: upcasters.upcast(type, schemaVersion, data),
    metadata: metadata ?? {},
    recordedAt: new Date(recordedAt),
  };
}

export async function selectAll(
  db: Kysely<unknown>,
  upcasters: Upcasters,
  options: { after: bigint; limit: number; types?: readonly string[] | undefined },
): Promise<StoredEvent[]> {
  const after = options.after.toString();
  const typeFilter =
    options.types && options.types.length > 0 ? sql`AND type IN (${sql.join(options.types)})` : sql``;
  const group = sql`position / ${sql.lit(eventsPerValue)}`;
  // The position travels as text: a bigint may pass 2^53.
  const { rows } = await sql<{ events: EventTuple[] }>`SELECT json_agg(json_build_array(position::text, id,
      stream_id, version, type, schema_version, data, metadata, recorded_at) ORDER BY position) AS events
    FROM (SELECT ${columns} FROM bv_es_events WHERE position > ${after}::bigint ${typeFilter}
      ORDER BY position LIMIT ${options.limit}) page
    GROUP BY ${group} ORDER BY ${group}`.execute(db);
  return rows.flatMap((r) => r.events.map((tuple) => tupleToStoredEvent(tuple, upcasters)));
}

export async function selectHead(db: Kysely<unknown>): Promise<bigint> {
  const { rows } = await sql<{ head: string | number | bigint | null }>`
    SELECT max(position) AS head FROM bv_es_events`.execute(db);
  const head = rows[0]?.head;
  return head === null || head === undefined ? 0n : BigInt(head);
}

export async function streamVersion(db: Kysely<unknown>, streamId: string): Promise<number> {
  const { rows } = await sql<{ version: number | null }>`
    SELECT max(version) AS version FROM bv_es_events WHERE stream_id = ${streamId}`.execute(db);
  return Number(rows[0]?.version ?? 0);
}
