import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { migrateEventStore } from '@bitv/shared/event-store';
import { type Kysely, sql } from 'kysely';

const pickLists: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('pick_lists')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().unique())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createIndex('pick_lists_site_status')
      .on('pick_lists')
      .columns(['site_id', 'status'])
      .execute();
    // One pick in progress per site: a drop at a bin lit for one pick would be a mis-pick of another.
    await sql`CREATE UNIQUE INDEX pick_lists_one_active ON pick_lists (site_id) WHERE status = 'picking'`.execute(
      db,
    );
  },
};

/** Fulfilment's own tables, migrated under the component name `fulfilment`. */
export const fulfilmentMigrations: Record<string, Migration> = {
  '0001_pick_lists': pickLists,
};

/** Also the event store's tables: pick events are queued in its outbox with the pick-list rows. */
export async function migrateFulfilment(database: Database): Promise<string[]> {
  await migrateEventStore(database);
  return migrate(database, 'fulfilment', fulfilmentMigrations);
}
