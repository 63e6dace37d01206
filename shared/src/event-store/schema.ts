import { type Kysely, type Migration, sql } from 'kysely';
import { type Database, migrate } from '../db/index.js';

/**
 * The event store's tables, migrated as the component `event_store`: events, snapshots,
 * projection checkpoints, the outbox and the outbox relay's lease. The store, the projection
 * runner and the relay each call `migrateEventStore`, so whichever starts first creates them.
 */
export interface EventStoreTables {
  bv_es_events: {
    position: string | number | bigint;
    id: string;
    stream_id: string;
    version: number;
    type: string;
    schema_version: number;
    data: unknown;
    metadata: unknown;
    recorded_at: Date | string;
  };
  bv_es_snapshots: {
    stream_id: string;
    version: number;
    schema_version: number;
    state: unknown;
    saved_at: Date | string;
  };
  bv_es_checkpoints: { name: string; position: string | number | bigint; updated_at: Date | string };
  bv_es_outbox: {
    id: string | number | bigint;
    topic: string;
    partition_key: string;
    event: unknown;
    created_at: Date | string;
    attempts: number;
    next_attempt_at: Date | string;
    last_error: string | null;
    delivered_at: Date | string | null;
    failed_at: Date | string | null;
  };
  bv_es_outbox_lease: { name: string; owner: string; expires_at: Date | string };
}

const migrations: Record<string, Migration> = {
  '0001_events': {
    async up(db: Kysely<unknown>) {
      // `position` comes from a sequence; appends hold a transaction-scoped advisory lock from
      // the first append to commit, so positions become visible in order (see append.ts).
      await sql`CREATE TABLE bv_es_events (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        stream_id text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        type text NOT NULL,
        schema_version integer NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (stream_id, version)
      )`.execute(db);
      await sql`CREATE INDEX bv_es_events_type ON bv_es_events (type, position)`.execute(db);
      await sql`CREATE TABLE bv_es_snapshots (
        stream_id text PRIMARY KEY,
        version integer NOT NULL,
        schema_version integer NOT NULL,
        state jsonb NOT NULL,
        saved_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);
      await sql`CREATE TABLE bv_es_checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);
      await sql`CREATE TABLE bv_es_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        topic text NOT NULL,
        partition_key text NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        delivered_at timestamptz,
        failed_at timestamptz
      )`.execute(db);
      await sql`CREATE INDEX bv_es_outbox_pending ON bv_es_outbox (id)
        WHERE delivered_at IS NULL AND failed_at IS NULL`.execute(db);
      await sql`CREATE INDEX bv_es_outbox_delivered ON bv_es_outbox (delivered_at)
        WHERE delivered_at IS NOT NULL`.execute(db);
      await sql`CREATE TABLE bv_es_outbox_lease (
        name text PRIMARY KEY,
        owner text NOT NULL,
        expires_at timestamptz NOT NULL
      )`.execute(db);
    },
  },
};

const migrated = new WeakMap<Database, Promise<unknown>>();

/** Creates or updates the tables once per database handle. */
export async function migrateEventStore(database: Database): Promise<void> {
  let done = migrated.get(database);
  if (!done) {
    done = migrate(database, 'event_store', migrations);
    migrated.set(database, done);
    done.catch(() => migrated.delete(database));
  }
  await done;
}

/** The lock that orders appends and outbox writes, one per schema (tests share a server). */
export async function orderLockKey(db: Kysely<unknown>): Promise<string> {
  const { rows } = await sql<{ key: string | number | bigint }>`
    SELECT hashtextextended('bv_event_store.' || current_schema(), 0) AS key`.execute(db);
  const key = rows[0]?.key;
  if (key === undefined) throw new Error('could not derive the event store lock key');
  return String(key);
}
