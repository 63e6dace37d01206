import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../testing/fault-proxy/index.js';
import { postgresUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';
import { type Database, dropSchema, openDatabase } from './database.js';

const available = await serverAvailable('postgres');

/**
 * A connection lost in the middle of a query (a network cut, a failover, a killed backend). pg
 * then fails the query and also emits 'error' on the client; the pool listens for that only while
 * the client is idle, so a client checked out by a query used to throw an unhandled 'error' event
 * and take the whole process down (found by infra/test/sparkplug-host-platform.test.ts, where a
 * database outage killed `npm start`).
 */
describe.skipIf(!available)('postgres: a connection lost during a query', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('fails that query, does not crash the process, and the next query gets a fresh connection', async () => {
    const upstream = new URL(postgresUrl());
    const proxy = await startFaultProxy({
      upstream: { host: upstream.hostname, port: Number(upstream.port || 5432) },
      name: 'postgres',
    });
    cleanups.push(() => proxy.close());
    const url = new URL(upstream.href);
    url.host = `127.0.0.1:${proxy.port}`;
    const schema = uniqueName('lost');
    const database: Database = await openDatabase({ url: url.href, schema, poolSize: 2 });
    cleanups.push(() => database.close());
    cleanups.push(() => dropSchema(database, schema));

    const inFlight = sql`SELECT pg_sleep(5)`.execute(database.kysely);
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.addToxic({ name: 'cut', type: 'reset_peer', attributes: { timeout: 0 } });
    await expect(inFlight).rejects.toThrow(/terminated|ECONNRESET|closed/i);
    proxy.removeToxic('cut');
    // an unhandled 'error' event would have failed the run by now (vitest reports it)
    await new Promise((resolve) => setTimeout(resolve, 200));
    await database.ping();
  });
});
