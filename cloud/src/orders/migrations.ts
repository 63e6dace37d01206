import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const idempotency: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per caller and key, written in the placing transaction: a retry finds the answer.
    await sql`CREATE TABLE order_idempotency (
      owner text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      order_id text NOT NULL,
      status integer NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (owner, key)
    )`.execute(db);
  },
};

const readModels: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE order_view (
      order_id text PRIMARY KEY,
      site_id text NOT NULL,
      customer_id text NOT NULL,
      status text NOT NULL,
      lines jsonb NOT NULL,
      units integer NOT NULL,
      rejection jsonb,
      version integer NOT NULL,
      placed_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX order_view_customer ON order_view (customer_id, placed_at DESC)`.execute(db);
    await sql`CREATE INDEX order_view_site_status ON order_view (site_id, status, placed_at DESC)`.execute(
      db,
    );
    await sql`CREATE TABLE order_timeline (
      order_id text NOT NULL,
      version integer NOT NULL,
      type text NOT NULL,
      data jsonb NOT NULL,
      recorded_at timestamptz NOT NULL,
      PRIMARY KEY (order_id, version)
    )`.execute(db);
    await sql`CREATE TABLE order_sales_daily (
      day date NOT NULL,
      site_id text NOT NULL,
      orders integer NOT NULL,
      units integer NOT NULL,
      PRIMARY KEY (day, site_id)
    )`.execute(db);
  },
};

/** Orders' own tables (the events are in the event store), migrated as the component `orders`. */
export const orderMigrations: Record<string, Migration> = {
  '0001_idempotency': idempotency,
  '0002_read_models': readModels,
};

export function migrateOrders(database: Database): Promise<string[]> {
  return migrate(database, 'orders', orderMigrations);
}
