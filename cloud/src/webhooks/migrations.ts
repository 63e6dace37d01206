import type { Database, Migration } from '@bitv/shared/db';
import { migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_webhooks': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        owner_id text NOT NULL,
        url text NOT NULL,
        description text NOT NULL DEFAULT '',
        event_types jsonb NOT NULL,
        secret text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        in_order boolean NOT NULL DEFAULT false,
        rate_per_second double precision,
        failing_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);
      await sql`CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_id)`.execute(db);
      // One delivery per event and endpoint: a redelivered event finds its row and adds nothing.
      await sql`CREATE TABLE webhook_deliveries (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_id text NOT NULL,
        event_type text NOT NULL,
        body text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        enqueued boolean NOT NULL DEFAULT false,
        event_committed_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        UNIQUE (endpoint_id, event_id)
      )`.execute(db);
      await sql`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq)`.execute(
        db,
      );
      await sql`CREATE TABLE webhook_attempts (
        id bigserial PRIMARY KEY,
        delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        ok boolean NOT NULL,
        status_code integer,
        latency_ms integer NOT NULL,
        error text,
        response_snippet text
      )`.execute(db);
      await sql`CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`.execute(db);
      await sql`CREATE TABLE webhook_notices (
        id bigserial PRIMARY KEY,
        owner_id text NOT NULL,
        endpoint_id uuid,
        at timestamptz NOT NULL DEFAULT now(),
        kind text NOT NULL,
        message text NOT NULL
      )`.execute(db);
      await sql`CREATE INDEX webhook_notices_owner ON webhook_notices (owner_id, id)`.execute(db);
    },
  },
  '0002_delivery_relay': {
    async up(db: Kysely<unknown>) {
      // Deliveries are stored by the event consumer and published by a relay in batches: a row not
      // yet enqueued is claimed by a relay until `relay_after`, so a relay that dies mid-batch
      // leaves its rows to another (or its own restart) once the claim lapses.
      await sql`ALTER TABLE webhook_deliveries ADD COLUMN relay_after timestamptz NOT NULL DEFAULT now()`.execute(
        db,
      );
      await sql`CREATE INDEX webhook_deliveries_unenqueued ON webhook_deliveries (relay_after, seq) WHERE NOT enqueued`.execute(
        db,
      );
    },
  },
};

export async function migrateWebhooks(database: Database): Promise<void> {
  await migrate(database, 'webhooks', migrations);
}
