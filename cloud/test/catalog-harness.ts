import type { Role } from '@bitv/shared/auth';
import { type Cache, openCache } from '@bitv/shared/cache';
import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventStore, type EventStore } from '@bitv/shared/event-store';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { postgresUrl, uniqueName } from '@bitv/shared/testing';
import { Hono } from 'hono';
import { errorResponse } from '../src/api/errors.js';
import type { Principal } from '../src/api/principal.js';
import { mountRoutes } from '../src/api/route.js';
import { createCatalogModule } from '../src/catalog/module.js';
import { migrateCloud } from '../src/db/index.js';
import type { CloudModule, ModuleContext } from '../src/module.js';

export interface StockStub {
  stock(sku: string): Promise<{ onHand: number; reserved: number; available: number }>;
}

export interface CatalogHarness {
  app: Hono;
  module: Awaited<ReturnType<typeof createCatalogModule>>;
  database: Database;
  eventStore: EventStore;
  cache: Cache;
  metrics: Registry;
  /** Headers of a caller with this role (a bearer token the harness's authenticator knows). */
  as(role: Role, extra?: Record<string, string>): Record<string, string>;
  /** Inventory's API as the catalog sees it; undefined until a test sets it. */
  apis: { inventory?: StockStub };
  close(): Promise<void>;
}

/**
 * The catalog module on its own: real database (PGlite or PostgreSQL), the real event store and
 * cache, its routes mounted with the API's own `mountRoutes` and error handler. Authentication is
 * the one part stood in for: the bearer token is the role, and access is checked the way the
 * cloud's authenticator checks it (the auth suites test the real one).
 */
export async function startCatalog(
  kind: 'pglite' | 'postgres',
  options: {
    cache?: Cache;
    metrics?: Registry;
    database?: Database;
    overrides?: Record<string, number>;
  } = {},
): Promise<CatalogHarness> {
  const schema = uniqueName('catalog');
  const ownDatabase = !options.database;
  const database =
    options.database ??
    (kind === 'pglite'
      ? await openDatabase()
      : await openDatabase({ url: postgresUrl(), schema, poolSize: 4 }));
  await migrateCloud(database);
  const metrics = options.metrics ?? createRegistry();
  const eventStore = await createEventStore(database, { metrics });
  const cache = options.cache ?? (await openCache({ logger: silentLogger, metrics }));
  const apis: CatalogHarness['apis'] = {};
  const ctx = {
    database,
    eventStore,
    cache,
    logger: silentLogger,
    metrics,
    apis,
  } as unknown as ModuleContext;
  const module = await createCatalogModule(ctx, options.overrides);
  const app = new Hono();
  app.onError((error, c) => errorResponse(c, error, silentLogger));
  mountRoutes(app, module.routes ?? [], async (c, access) => {
    const role = /^Bearer (\w+)$/.exec(c.req.header('Authorization') ?? '')?.[1] as Role | undefined;
    if (!role) return undefined;
    const principal: Principal = { kind: 'user', id: `${role}-1`, role, sites: null };
    return access === 'public' || (Array.isArray(access) && access.includes(role)) ? principal : undefined;
  });
  return {
    app,
    module,
    database,
    eventStore,
    cache,
    metrics,
    apis,
    as: (role, extra = {}) => ({
      Authorization: `Bearer ${role}`,
      'Content-Type': 'application/json',
      ...extra,
    }),
    async close() {
      await (module as CloudModule).close?.();
      if (!options.cache) await cache.close();
      if (!ownDatabase) return;
      if (kind === 'postgres') await dropSchema(database, schema);
      await database.close();
    },
  };
}
