import {
  type OrderCancelled,
  type OrderConfirmed,
  orderCancelledV1,
  orderConfirmedV1,
  type StockChanged,
  stockChangedV1,
  topics,
} from '@bitv/shared/events';
import { counter, histogram } from '@bitv/shared/metrics';
import type { CloudModule, ModuleContext } from '../module.js';
import { ModuleStockDirectory } from './directory.js';
import { Fulfilment, type FulfilmentOptions } from './fulfilment.js';
import { PickLights } from './lights.js';
import { migrateFulfilment } from './migrations.js';
import { fulfilmentPages, pickNav } from './pages.js';
import { fulfilmentRoutes } from './routes.js';
import { PickStore } from './store.js';

/**
 * Pick-to-light fulfilment. Needs registry (places), inventory (bins, count changes) and commands
 * (lights). Its `bv.fulfilment` events are queued in the transactional outbox with the pick-list
 * rows (see store.ts); no relay of its own: fulfilment cannot be mounted without inventory
 * (modules.ts `needs`), whose relay publishes every row of the database's outbox. Count changes arrive twice when inventory is mounted in the same process: through its
 * in-process feed (the short path a waiting picker needs) and through `bv.inventory` (the path
 * for a fulfilment process of its own); the second copy is skipped.
 */
export async function createFulfilmentModule(
  ctx: ModuleContext,
  options: Partial<FulfilmentOptions> = {},
): Promise<CloudModule> {
  const { registry, inventory, commands } = ctx.apis;
  if (!registry || !inventory || !commands)
    throw new Error('fulfilment needs the registry, inventory and commands modules');
  await migrateFulfilment(ctx.database);
  const logger = ctx.logger.child({ module: 'fulfilment' });
  const fulfilment = new Fulfilment(
    new PickStore(ctx.database),
    new ModuleStockDirectory(registry, inventory),
    new PickLights(commands, logger),
    ctx.hub,
    logger,
    {
      events: counter(ctx.metrics, 'bv_cloud_pick_events_total', 'Pick list events decided, by type', [
        'type',
      ]),
      dropped: counter(
        ctx.metrics,
        'bv_cloud_pick_changes_dropped_total',
        'Stock changes fulfilment dropped, by reason',
        ['reason'],
      ),
      reactSeconds: histogram(
        ctx.metrics,
        'bv_cloud_pick_react_seconds',
        'From a count change reaching fulfilment to its pick lights being sent',
      ),
    },
    options,
  );
  const unsubscribe = inventory.onStockChange(async (changes) => {
    // Not awaited: the feed runs on the telemetry consumer's path, and a pick's light commands
    // must not hold up the next count. The per-site queue keeps the order.
    for (const c of changes) {
      fulfilment
        .onStockChange(c.event)
        .catch((error: unknown) =>
          logger.warn({ err: error, shelfId: c.event.shelfId, bin: c.event.bin }, 'pick stock change failed'),
        );
    }
  });
  return {
    name: 'fulfilment',
    routes: fulfilmentRoutes(fulfilment),
    pages: fulfilmentPages({ kit: ctx.dashboard, registry, fulfilment }),
    nav: [pickNav],
    consumers: [
      {
        group: 'fulfilment.orders',
        topics: [topics.orders],
        handle: async (event) => {
          // The event log checked the data against the registry's schema (or dead-lettered it).
          if (event.type === orderConfirmedV1.type) await fulfilment.fromOrder(event.data as OrderConfirmed);
          if (event.type === orderCancelledV1.type) {
            const cancelled = event.data as OrderCancelled;
            await fulfilment.cancelOrder(cancelled.orderId, cancelled.reason);
          }
        },
      },
      {
        group: 'fulfilment.stock',
        topics: [topics.inventory],
        handle: async (event) => {
          if (event.type === stockChangedV1.type) await fulfilment.onStockChange(event.data as StockChanged);
        },
      },
    ],
    close: async () => {
      unsubscribe();
    },
  };
}
