import { type Migration, Migrator } from 'kysely';
import type { Database } from './database.js';

export type { Migration } from 'kysely';

/**
 * Runs one component's migrations. Each component keeps its own migration table, so components
 * that share the embedded database (event log, registry, inventory) never see each other's
 * history and can be deployed to separate databases later without renumbering.
 */
export async function migrate(
  database: Database,
  component: string,
  migrations: Record<string, Migration>,
): Promise<string[]> {
  const migrator = new Migrator({
    db: database.kysely,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `bv_migrations_${component}`,
    migrationLockTableName: `bv_migrations_${component}_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error(`migrations of ${component} failed: ${String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
