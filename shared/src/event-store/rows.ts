import { type Kysely, sql } from 'kysely';
import type { StoredEvent } from './port.js';
import type { EventStoreTables } from './schema.js';
import type { Upcasters } from './upcasters.js';

type EventRow = EventStoreTables['bv_es_events'];

const columns = sql`position, id, stream_id, version, type, schema_version, data, metadata, recorded_at`;

/** A row as the reader sees it: upcast to its type's newest shape. */
export function toStoredEvent(row: EventRow, upcasters: Upcasters): StoredEvent {
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

export async function selectAll(
  db: Kysely<unknown>,
  upcasters: Upcasters,
  options: { after: bigint; limit: number; types?: readonly string[] | undefined },
): Promise<StoredEvent[]> {
  const after = options.after.toString();
  const typeFilter =
    options.types && options.types.length > 0 ? sql`AND type IN (${sql.join(options.types)})` : sql``;
  const { rows } = await sql<EventRow>`SELECT ${columns} FROM bv_es_events
    WHERE position > ${after}::bigint ${typeFilter} ORDER BY position LIMIT ${options.limit}`.execute(db);
  return rows.map((r) => toStoredEvent(r, upcasters));
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
