import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const tables: Migration = {
  async up(db: Kysely<unknown>) {
    // `claimed` counts units held by live claims: the sale row's lock is what serialises buyers.
    await sql`CREATE TABLE flash_sales (
      id text PRIMARY KEY,
      sku text NOT NULL,
      site_id text NOT NULL,
      title text NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      quantity integer NOT NULL CHECK (quantity > 0),
      per_customer_limit integer NOT NULL CHECK (per_customer_limit > 0),
      claimed integer NOT NULL DEFAULT 0 CHECK (claimed >= 0 AND claimed <= quantity),
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_at > starts_at)
    )`.execute(db);
    await sql`CREATE INDEX flash_sales_ends ON flash_sales (ends_at DESC)`.execute(db);
    await sql`CREATE TABLE flash_buyers (
      sale_id text NOT NULL REFERENCES flash_sales (id),
      customer_id text NOT NULL,
      units integer NOT NULL CHECK (units >= 0),
      PRIMARY KEY (sale_id, customer_id)
    )`.execute(db);
    // status: placing (claimed, the order not yet placed), ordered, released.
    await sql`CREATE TABLE flash_claims (
      id text PRIMARY KEY,
      sale_id text NOT NULL REFERENCES flash_sales (id),
      customer_id text NOT NULL,
      quantity integer NOT NULL,
      status text NOT NULL,
      order_id text UNIQUE,
      release_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX flash_claims_sale ON flash_claims (sale_id, status)`.execute(db);
  },
};

export const flashSaleMigrations: Record<string, Migration> = { '0001_tables': tables };

export function migrateFlashSales(database: Database): Promise<string[]> {
  return migrate(database, 'flash-sales', flashSaleMigrations);
}
