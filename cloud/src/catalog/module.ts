import { tables } from '@bitv/shared/db';
import { reservationChangedV1, stockChangedV1, topics } from '@bitv/shared/events';
import type { CloudModule, ModuleContext } from '../module.js';
import type { CatalogApi } from './api.js';
import { Catalog, type CatalogSettings, type StockSource } from './catalog.js';
import { migrateCatalog } from './migrations.js';
import { catalogNav, catalogPages } from './pages.js';
import { catalogRoutes } from './routes.js';
import type { CatalogTables } from './store.js';

export type CatalogModuleSettings = CatalogSettings & { readCountFlushMs: number };

/** Defaults of `BV_CATALOG_*` (cloud/src/config.ts; a test keeps the two equal). */
export const catalogDefaults: CatalogModuleSettings = {
  productTtlMs: 5 * 60_000,
  stockTtlMs: 10_000,
  warmCount: 200,
  readCountFlushMs: 30_000,
};

/**
 * The catalog module: owner of products (prices, descriptions, categories, status, attributes),
 * their REST API with ETags, their history as event streams, cached reads.
 */
export async function createCatalogModule(
  ctx: ModuleContext,
  overrides: Partial<typeof catalogDefaults> = {},
): Promise<CloudModule & { catalog: Catalog }> {
  const settings = { ...catalogDefaults, ...overrides };
  await migrateCatalog(ctx.database);
  const logger = ctx.logger.child({ component: 'cloud.catalog' });
  // read when a request comes: inventory may mount after the catalog, or not at all
  const stock = () => (ctx.apis as { inventory?: StockSource }).inventory;
  const catalog = new Catalog({
    db: tables<CatalogTables>(ctx.database),
    eventStore: ctx.eventStore,
    cache: ctx.cache,
    logger,
    metrics: ctx.metrics,
    settings,
    stock,
  });
  const api: CatalogApi = {
    getProduct: (sku) => catalog.get(sku),
    createProduct: (input, actor) => catalog.create(input, actor),
  };
  return {
    name: 'catalog',
    catalog,
    routes: catalogRoutes(catalog),
    pages: catalogPages({ kit: ctx.dashboard, catalog }),
    nav: [catalogNav],
    provides: { catalog: api },
    consumers: [
      {
        group: 'catalog.stock-cache',
        joins: 'inventory',
        topics: [topics.inventory],
        async handle(event) {
          if (event.type !== stockChangedV1.type && event.type !== reservationChangedV1.type) return;
          const sku = (event.data as { sku?: string | null }).sku;
          if (sku) await catalog.stockChanged([sku]);
        },
      },
    ],
    timers: [
      {
        name: 'catalog.read-counts',
        everyMs: settings.readCountFlushMs,
        run: () => catalog.readCounts.flush(),
      },
    ],
    health: { cache: () => ctx.cache.ping() },
    async start() {
      const warmed = await catalog.warm();
      logger.info({ warmed }, 'catalog cache warmed with the most-read products');
    },
    async close() {
      await catalog.readCounts.flush();
    },
  };
}
