import { sql } from 'kysely';
import { type Database, dropSchema, openDatabase } from '../db/index.js';
import { postgresUrl, uniqueName } from '../testing/index.js';
import type { EventStoreTarget } from './contract.js';

/**
 * Test targets (no vitest import, shared by the contract and property tests). PGlite: one
 * in-memory instance for a whole file (starting one costs seconds on a loaded machine), each
 * `open` a fresh schema on it; PGlite is a single connection, so a session-level search_path
 * holds. Each opened handle is a distinct `Database` object, so the store migrates it anew.
 */
export function pgliteTarget(): EventStoreTarget & { closeAll(): Promise<void> } {
  let shared: Promise<Database> | undefined;
  return {
    async open() {
      shared ??= openDatabase();
      const base = await shared;
      const schema = uniqueName('es');
      await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(base.kysely);
      await sql`SET search_path TO ${sql.id(schema)}, public`.execute(base.kysely);
      const database: Database = {
        kind: base.kind,
        kysely: base.kysely,
        ping: () => base.ping(),
        close: async () => undefined,
      };
      return { database, close: () => dropSchema(base, schema) };
    },
    async closeAll() {
      await (await shared)?.close();
    },
  };
}

/** PostgreSQL: each `open` a schema of its own on the test server, dropped on close. */
export const postgresTarget: EventStoreTarget = {
  async open() {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_store_test');
    const database = await openDatabase({ url, schema, poolSize: 10 });
    return {
      database,
      url,
      close: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  },
};
