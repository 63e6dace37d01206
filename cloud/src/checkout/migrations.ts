import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const sagas: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE checkout_sagas (
      order_id text PRIMARY KEY,
      status text NOT NULL,
      step integer NOT NULL,
      state jsonb NOT NULL,
      version integer NOT NULL,
      lease_owner text,
      lease_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX checkout_sagas_open ON checkout_sagas (status, lease_until) WHERE status <> 'done'`.execute(
      db,
    );
  },
};

/** The checkout process manager's stored state, migrated as the component `checkout`. */
export function migrateCheckout(database: Database): Promise<string[]> {
  return migrate(database, 'checkout', { '0001_sagas': sagas });
}
