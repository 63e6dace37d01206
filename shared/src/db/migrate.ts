import { type Migration, Migrator, sql } from 'kysely';
import { retry } from '../retry/index.js';
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
  // Kysely looks for its migration tables in every schema unless told which one: with several
  // schemas on one server (tests, tenants) it would find another schema's table and then fail
  // to use it. Pin them to the schema this connection works in.
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(database.kysely);
  const migrator = new Migrator({
    db: database.kysely,
    migrationTableSchema: rows[0]?.schema,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `bv_migrations_${component}`,
    migrationLockTableName: `bv_migrations_${component}_lock`,
  });
  try {
    // Two processes migrating a fresh database at once race to create Kysely's own tables
    // before its lock exists; the loser sees "does not exist" or "already exists" and simply
    // tries again, by which time the lock serialises them. Kysely also introspects every schema
    // on the server to find its table, so a schema another tenant drops meanwhile fails the scan
    // with "schema does not exist"; the next scan no longer sees it.
    const results = await retry(
      async () => {
        const { error, results } = await migrator.migrateToLatest();
        if (error) throw error;
        return results ?? [];
      },
      { retries: 4, initialDelayMs: 50, maxDelayMs: 500, shouldRetry: isCreationRace },
    );
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } catch (error) {
    throw new Error(`migrations of ${component} failed: ${String(error)}`, { cause: error });
  }
}

// undefined_table, duplicate_table, unique_violation (pg_type row of a table created twice),
// invalid_schema_name (a schema dropped during Kysely's scan of all tables).
const creationRaceCodes = new Set(['42P01', '42P07', '23505', '3F000']);

function isCreationRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && creationRaceCodes.has(code);
}
