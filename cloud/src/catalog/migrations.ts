import type { Database, Migration } from '@bitv/shared/db';
import { migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

/**
 * The catalog's own migration component. `products` itself is created by the cloud's first
 * migration (inventory and reservations point at it); the catalog adds what it owns. Products
 * that existed before are active, unpriced, at version 0 (no stream yet).
 */
const migrations: Record<string, Migration> = {
  '0001_catalog_fields': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('products')
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('category', 'text')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('price_minor', 'bigint')
        .addColumn('currency', 'text')
        .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('created_by', 'text')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_by', 'text')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`ALTER TABLE products ADD CONSTRAINT products_status_check CHECK (status IN ('draft', 'active', 'archived'))`.execute(
        db,
      );
      await sql`ALTER TABLE products ADD CONSTRAINT products_price_check CHECK ((price_minor IS NULL) = (currency IS NULL) AND (price_minor IS NULL OR price_minor >= 0))`.execute(
        db,
      );
      await db.schema.createIndex('products_category').on('products').columns(['category', 'sku']).execute();
      await db.schema.createIndex('products_status').on('products').columns(['status', 'sku']).execute();
      await db.schema
        .createTable('catalog_read_counts')
        .addColumn('sku', 'text', (c) => c.primaryKey())
        .addColumn('reads', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

export function migrateCatalog(database: Database): Promise<string[]> {
  return migrate(database, 'catalog', migrations);
}
