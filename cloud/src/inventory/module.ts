import { type OutboxRelay, startOutboxRelay } from '@bitv/shared/event-store';
import { telemetryReadingsV1, topics } from '@bitv/shared/events';
import { counter, histogram } from '@bitv/shared/metrics';
import { dataOf } from '../consumers.js';
import { cloudDb } from '../db/index.js';
import type { CloudModule, ModuleContext } from '../module.js';
import type { InventoryApi } from './api.js';
import { BinHealthMonitor } from './bin-health.js';
import { Counting } from './counting.js';
import { inventoryGrpcService } from './grpc.js';
import { Inventory } from './inventory.js';
import { inventoryPages, warehouseNav } from './pages.js';
import { Reservations } from './reservations.js';
import { inventoryRoutes } from './routes.js';
import { StockFeed } from './stock-feed.js';

/** How often lapsed reservations are expired (each expiry is announced on `bv.inventory`). */
const reservationExpiryMs = 30_000;

/**
 * Inventory from shelf weight: products and bin assignments, counting (stability detection, seq
 * watermarks), bin health alerts, manual counts, stock and reservations; the warehouse page and the
 * gRPC InventoryService. Needs the registry (places, shelves coming and going).
 */
export async function createInventoryModule(ctx: ModuleContext): Promise<CloudModule> {
  const registryApi = ctx.apis.registry;
  if (!registryApi) throw new Error('the inventory module needs the registry module');
  const db = cloudDb(ctx.database);
  let relay: OutboxRelay | undefined;
  const m = ctx.metrics;
  const feed = new StockFeed(ctx.logger);
  const health = new BinHealthMonitor(
    db,
    ctx.hub,
    ctx.eventLog,
    ctx.logger,
    counter(m, 'bv_cloud_hardware_alerts_total', 'Hardware alerts opened, by kind', ['kind']),
  );
  const counting = new Counting(
    db,
    ctx.hub,
    ctx.logger,
    {
      readings: counter(m, 'bv_cloud_readings_total', 'Shelf readings by outcome', ['outcome']),
      changes: counter(m, 'bv_cloud_stock_changes_total', 'Stock count changes by reason', ['reason']),
      applySeconds: histogram(m, 'bv_cloud_telemetry_apply_seconds', 'Time to apply one telemetry batch'),
    },
    health,
    feed,
    { stability: { windowMs: ctx.config.stableWindowMs } },
  );
  const inventory = new Inventory(db, ctx.hub, counting, ctx.logger);
  const reservations = new Reservations(db);
  // Shelves that go offline or come back change whether their bins' counts are current.
  registryApi.onShelfPresence((shelfIds, online) => health.shelfPresence(shelfIds, online));
  const api: InventoryApi = {
    getProduct: (sku) => inventory.getProduct(sku),
    stock: (sku, siteId) => inventory.stock(sku, siteId),
    bin: (shelfId, bin) => inventory.bin(shelfId, bin),
    binsOfSite: (siteId) => inventory.binsOfSite(siteId),
    alerts: (siteId, status) => inventory.alerts(siteId, status),
    reserve: (input) => reservations.reserve(input),
    reserveAll: (input) => reservations.reserveAll(input),
    release: (id, owner) => reservations.release(id, owner),
    commit: (ids) => reservations.commit(ids),
    consume: (ids) => reservations.consume(ids),
    getReservation: (id, owner) => reservations.get(id, owner),
    listReservations: (filter) => reservations.list(filter),
    onStockChange: (listener) => feed.subscribe(listener),
  };
  return {
    name: 'inventory',
    routes: inventoryRoutes({ inventory, reservations, registry: registryApi }),
    pages: inventoryPages({ kit: ctx.dashboard, registry: registryApi, inventory }),
    nav: [warehouseNav],
    consumers: [
      {
        group: 'inventory',
        topics: [topics.telemetry],
        handle: async (event) => {
          const batch = dataOf(telemetryReadingsV1, event);
          if (batch) await counting.apply(batch);
        },
      },
      {
        // The catalog owns products: a unit weight or tolerance changed there must reach the counts.
        group: 'inventory.products',
        topics: [topics.catalog],
        handle: async () => counting.invalidate(),
      },
    ],
    grpc: [
      inventoryGrpcService({ inventory, reservations, authenticate: ctx.authenticate, logger: ctx.logger }),
    ],
    timers: [
      {
        name: 'reservation expiry',
        everyMs: reservationExpiryMs,
        run: () => reservations.expireReservations().then(() => undefined),
      },
    ],
    provides: { inventory: api },
    services: { inventory, reservations, counting },
    async start() {
      // Stock changes go to `bv.inventory` through the transactional outbox; one relay per
      // database publishes (a lease), so this one idles when another module's holds it.
      relay = await startOutboxRelay({
        database: ctx.database,
        eventLog: ctx.eventLog,
        logger: ctx.logger,
        metrics: ctx.metrics,
      });
    },
    async close() {
      await relay?.close();
    },
  };
}
