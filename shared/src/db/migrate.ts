import { type DatabaseIntrospector, type Kysely, type Migration, Migrator, sql } from 'kysely';
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
  const schema = rows[0]?.schema ?? 'public';
  const migrator = new Migrator({
    db: withSchemaIntrospection(database.kysely, schema),
    migrationTableSchema: schema,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `bv_migrations_${component}`,
    migrationLockTableName: `bv_migrations_${component}_lock`,
  });
  try {
    // Two processes migrating a fresh database at once race to create Kysely's own tables
    // before its lock exists; the loser sees "does not exist" or "already exists" and simply
    // tries again, by which time the lock serialises them.
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

// undefined_table, duplicate_table, unique_violation (pg_type row of a table created twice).
const creationRaceCodes = new Set(['42P01', '42P07', '23505']);

/**
 * The migrator looks for its tables through the dialect's introspector, which lists every table
 * of every schema on the server with its columns. With other tenants (tests, sites) migrating and
 * dropping schemas beside us, that scan fails on their tables changing under it ("schema does not
 * exist", "column does not exist" from `pg_get_serial_sequence`). Its questions are only "is there
 * this schema" and "is there this table in it": answer them for our schema alone.
 */
function withSchemaIntrospection<DB>(db: Kysely<DB>, schema: string): Kysely<DB> {
  const introspection: DatabaseIntrospector = {
    getSchemas: async () => {
      const found = await sql<{ name: string }>`
        SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ${schema}`.execute(db);
      return found.rows;
    },
    getTables: async () => {
      const found = await sql<{ name: string; kind: string }>`
        SELECT c.relname AS name, c.relkind AS kind
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p', 'v')`.execute(db);
      return found.rows.map((t) => ({ name: t.name, schema, isView: t.kind === 'v', columns: [] }));
    },
    getMetadata: async () => ({ tables: await introspection.getTables() }),
  };
  // Kysely keeps its state in private fields: every other member is the instance's own, bound to it.
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function isCreationRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && creationRaceCodes.has(code);
}
