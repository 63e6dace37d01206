import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { errorText, redactUrl } from '../config/redact.js';
import { UnavailableError } from '../errors/index.js';
import { PgliteThread } from './pglite-thread.js';

/**
 * The SQL port. One Kysely instance over either PGlite (embedded default: on a worker thread of this
 * process, in memory or in a folder) or PostgreSQL through `pg` (when a URL is given). Both speak
 * the same SQL, so callers never branch on the kind; `kind` is for logs and health reports only.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** Untyped handle; each component narrows it to its own tables with `tables<T>()`. */
  readonly kysely: Kysely<unknown>;
  /** Checks the database answers; for health reports. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…` selects PostgreSQL; absent selects PGlite. */
  url?: string;
  /** PGlite data folder; absent keeps the database in memory. */
  dataDir?: string;
  /** A schema to create and put first on the search path (isolates tests and tenants on one server). */
  schema?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** Per-statement time limit on PostgreSQL, so no call hangs forever. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

const defaults = { poolSize: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000 };

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const opts = { ...defaults, ...options };
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) {
    throw new Error(`invalid schema name ${opts.schema}`);
  }
  const { url } = opts;
  if (!url) return openPglite(opts);
  // pg's own errors ("connect ECONNREFUSED 10.0.0.5:5432") do not say what was being reached.
  return openPostgres(url, opts).catch((error: unknown) => {
    throw new UnavailableError(`database at ${redactUrl(url)} unreachable: ${errorText(error)}`, {
      cause: error,
    });
  });
}

async function openPglite(opts: DatabaseOptions): Promise<Database> {
  const client = await PgliteThread.create(opts.dataDir || undefined);
  // The dialect calls only `query` and `close`, which PgliteThread has with PGlite's types.
  const kysely = new Kysely<unknown>({ dialect: new PGliteDialect(client as unknown as PGlite) });
  if (opts.schema) {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(opts.schema)}`.execute(kysely);
    // PGlite is a single connection, so a session-level search_path holds for every query.
    await sql`SET search_path TO ${sql.id(opts.schema)}, public`.execute(kysely);
  }
  return {
    kind: 'pglite',
    kysely,
    ping: async () => {
      await sql`SELECT 1`.execute(kysely);
    },
    close: async () => {
      await kysely.destroy();
      if (!client.closed) await client.close();
    },
  };
}

async function openPostgres(url: string, opts: typeof defaults & DatabaseOptions): Promise<Database> {
  if (opts.schema) {
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: opts.connectTimeoutMs });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
    } finally {
      await admin.end();
    }
  }
  const searchPath = opts.schema ? ` -c search_path=${opts.schema},public` : '';
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    options: `-c statement_timeout=${opts.statementTimeoutMs}${searchPath}`,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // A client whose connection dies during a query fails that query and also emits 'error'; the
  // pool listens only while the client is idle, so a checked-out one would crash the process. The
  // query's caller has the error already, and the pool drops the dead client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`SELECT 1`.execute(kysely);
  } catch (error) {
    // A pool left open would keep a failed process alive.
    await kysely.destroy().catch(() => undefined);
    throw error;
  }
  return {
    kind: 'postgres',
    kysely,
    ping: async () => {
      await sql`SELECT 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/** Narrows the untyped handle to a component's own table interface. */
export function tables<T>(database: Database): Kysely<T> {
  return database.kysely as unknown as Kysely<T>;
}

/** Drops a schema made by `openDatabase({ schema })`; for test clean-up. */
export async function dropSchema(database: Database, schema: string): Promise<void> {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(database.kysely);
}
