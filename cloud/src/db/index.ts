import { type Database, tables } from '@bitv/shared/db';
import type { Kysely } from 'kysely';
import type { CloudTables } from './schema.js';

export { cloudMigrations, migrateCloud } from './migrations.js';
export type { AlertKind, CloudTables } from './schema.js';

export type CloudDb = Kysely<CloudTables>;

export function cloudDb(database: Database): CloudDb {
  return tables<CloudTables>(database);
}
