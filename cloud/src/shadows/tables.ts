import { type Database, type Migration, migrate, tables } from '@bitv/shared/db';
import type { ColumnType, Kysely } from 'kysely';
import { sql } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One row per gateway: its desired and reported shadow, each with its version. */
export interface ShadowsTable {
  gateway_id: string;
  site_id: string;
  desired: ColumnType<unknown, string, string>;
  version: number;
  desired_at: Timestamp;
  changed_by: string;
  reported: ColumnType<unknown, string | undefined, string>;
  reported_version: ColumnType<number, number | undefined, number>;
  reported_at: ColumnType<Date | null, Date | string | undefined, Date | string>;
  /** The version last sent down and when: a resend waits `resendAfterMs` unless the gateway was reborn. */
  sent_version: ColumnType<number, number | undefined, number>;
  sent_at: ColumnType<Date | null, Date | string | undefined, Date | string>;
}

export interface ShadowTables {
  shadows: ShadowsTable;
}

export type ShadowDb = Kysely<ShadowTables>;

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('shadows')
      .addColumn('gateway_id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull())
      .addColumn('desired', 'jsonb', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('desired_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('changed_by', 'text', (c) => c.notNull())
      .addColumn('reported', 'jsonb')
      .addColumn('reported_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reported_at', 'timestamptz')
      .addColumn('sent_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('sent_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('shadows_site').on('shadows').column('site_id').execute();
  },
};

/** The shadows' own migration component (`bv_migrations_shadows`): no other module's tables. */
export async function openShadowDb(database: Database): Promise<ShadowDb> {
  await migrate(database, 'shadows', { '0001_shadows': initial });
  return tables<ShadowTables>(database);
}
