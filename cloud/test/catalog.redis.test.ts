import { openCache } from '@bitv/shared/cache';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, postgresUrl, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { startCatalog } from './catalog-harness.js';

const available = (await serverAvailable('postgres')) && (await serverAvailable('redis'));

/**
 * Two instances of the catalog (two cloud processes of one deployment): one PostgreSQL, one Redis.
 * Each keeps a near copy of what it read, so only the invalidation travelling over Redis pub/sub
 * can make the reader see the writer's change before its copy expires.
 */
describe.skipIf(!available)('catalog on two instances sharing PostgreSQL and Redis', () => {
  it('a change made on one instance is read on the other at once', async () => {
    const schema = uniqueName('catalog2');
    const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
    const prefix = `${uniqueName('bvcat')}:`;
    const cacheOf = () =>
      openCache({
        redisUrl: redisUrl(),
        logger: silentLogger,
        metrics: createRegistry(),
        prefix,
        nearTtlMs: 5 * 60_000,
      });
    const a = await startCatalog('postgres', { database, cache: await cacheOf() });
    const b = await startCatalog('postgres', { database, cache: await cacheOf() });
    try {
      const created = await a.app.request('/api/v1/products', {
        method: 'POST',
        headers: a.as('admin'),
        body: JSON.stringify({ sku: 'X-1', name: 'Before', unitWeightG: 5, toleranceG: 1 }),
      });
      expect(created.status).toBe(201);
      const read = async () =>
        (await (await a.app.request('/api/v1/products/X-1', { headers: a.as('staff') })).json()) as {
          name: string;
          version: number;
        };
      expect(await read()).toMatchObject({ name: 'Before', version: 1 });
      expect(await read()).toMatchObject({ name: 'Before', version: 1 });
      const changed = await b.app.request('/api/v1/products/X-1', {
        method: 'PATCH',
        headers: b.as('operator', { 'If-Match': '"1"' }),
        body: JSON.stringify({ name: 'After' }),
      });
      expect(changed.status).toBe(200);
      await eventually(async () => (await read()).name === 'After', "instance A reads B's change", 5_000);
      expect(await read()).toMatchObject({ name: 'After', version: 2 });
    } finally {
      await a.close();
      await b.close();
      await a.cache.close();
      await b.cache.close();
      await dropSchema(database, schema);
      await database.close();
    }
  }, 120_000);
});
