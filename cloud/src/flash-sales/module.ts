import { topics } from '@bitv/shared/events';
import type { CloudModule, ModuleContext } from '../module.js';
import { Gate } from './gate.js';
import { migrateFlashSales } from './migrations.js';
import { flashSalePages, flashSalesNav } from './pages.js';
import { flashSaleRoutes } from './routes.js';
import { FlashSaleService } from './service.js';
import { FlashSaleStore } from './store.js';
import { type SaleStreamSettings, SaleStreams } from './streams.js';

export interface FlashSaleSettings extends SaleStreamSettings {
  /** How often every watched sale's state (countdown, remaining) is sent. */
  tickMs: number;
  /** Buys running at once in this process; more wait in a bounded queue. */
  buyConcurrency: number;
  /** Buys waiting for a turn; more are refused (503) at once. */
  buyQueue: number;
  /** How long a buy waits for its turn before a 503. */
  buyWaitMs: number;
}

export const flashSaleDefaults: FlashSaleSettings = {
  tickMs: 1_000,
  buyConcurrency: 4,
  buyQueue: 5_000,
  buyWaitMs: 30_000,
  heartbeatMs: 15_000,
  maxBufferedEvents: 64,
  maxClients: 20_000,
};

/**
 * Flash sales on live stock: a sale of a product at a site (start, end, quantity, per-customer
 * limit), a public SSE stream of its countdown and of what is left (inventory's available units,
 * moved by picks on the floor, capped by the sale), and buying through the orders module's normal
 * placing and checkout, after an atomic claim that is given back if the order fails.
 */
export async function createFlashSalesModule(
  ctx: ModuleContext,
  settings: Partial<FlashSaleSettings> = {},
): Promise<CloudModule> {
  const { inventory, orders } = ctx.apis;
  if (!inventory || !orders) throw new Error('flash-sales needs the inventory and orders modules');
  const s = { ...flashSaleDefaults, ...settings };
  await migrateFlashSales(ctx.database);
  const logger = ctx.logger.child({ module: 'flash-sales' });
  const store = new FlashSaleStore(ctx.database);
  const streams = new SaleStreams(s, ctx.metrics);
  const service = new FlashSaleService(
    store,
    {
      available: async (sku, siteId) => (await inventory.stock(sku, siteId)).available,
      productName: async (sku) => (await inventory.getProduct(sku)).name,
      place: (input) => orders.place(input),
    },
    streams,
    ctx.metrics,
    logger,
    new Gate(s.buyConcurrency, s.buyQueue, s.buyWaitMs),
  );
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'flash-sales',
    routes: flashSaleRoutes(service, streams),
    pages: flashSalePages({ kit: ctx.dashboard, service }),
    nav: [flashSalesNav],
    consumers: [
      { group: 'flash-sales.orders', topics: [topics.orders], handle: (e) => service.onOrderEvent(e) },
    ],
    timers: [{ name: 'flash-sale-tick', everyMs: s.tickMs, run: () => service.tick() }],
    async start() {
      // A pick on the floor (or a restock) moves the remaining quantity at once, not at the next tick.
      unsubscribe = inventory.onStockChange(async (changes) => {
        const skus = new Set(changes.flatMap((c) => (c.event.sku ? [c.event.sku] : [])));
        if (skus.size > 0) await service.onStockChange(skus);
      });
    },
    async close() {
      unsubscribe?.();
      streams.close();
    },
  };
}
