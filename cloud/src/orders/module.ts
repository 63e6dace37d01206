import { NotFoundError } from '@bitv/shared';
import {
  type OutboxRelay,
  type ProjectionRunner,
  startOutboxRelay,
  startProjections,
} from '@bitv/shared/event-store';
import { type BvEvent, pickCompletedV1, pickStartedV1, topics } from '@bitv/shared/events';
import { counter } from '@bitv/shared/metrics';
import { CheckoutRunner, type CheckoutRunnerOptions, checkoutRunnerDefaults } from '../checkout/runner.js';
import type { CheckoutStep } from '../checkout/saga.js';
import { checkoutSteps, type StepDeps } from '../checkout/steps.js';
import type { CloudModule, ModuleContext } from '../module.js';
import type { OrdersApi } from './api.js';
import { ordersGrpcService } from './grpc.js';
import { orderLiveProjection } from './live.js';
import { migrateOrders } from './migrations.js';
import { OrderRuleError } from './model.js';
import { ordersNav, ordersPages } from './pages.js';
import { orderProjections } from './projections.js';
import { OrderReadModels } from './read-models.js';
import { orderRoutes } from './routes.js';
import { OrderService, placingDefaults } from './service.js';
import { loadOrder } from './stream.js';

export interface OrdersSettings {
  /** How long a hold of an unfinished checkout lives before inventory lapses it. */
  holdSeconds: number;
  /** How often unfinished checkouts of dead processes are looked for. */
  resumeEveryMs: number;
  checkoutLeaseMs: number;
  checkoutConcurrency: number;
  /** Placements written in one group transaction at most. */
  placeMaxBatch: number;
  /** Group transactions of placements open at once. */
  placeInFlight: number;
}

export const ordersDefaults: OrdersSettings = {
  holdSeconds: 15 * 60,
  resumeEveryMs: 2_000,
  checkoutLeaseMs: checkoutRunnerDefaults.leaseMs,
  checkoutConcurrency: checkoutRunnerDefaults.concurrency,
  placeMaxBatch: placingDefaults.maxBatch,
  placeInFlight: placingDefaults.maxInFlight,
};

/** Events this much older than the module's start still get a live message (a restart's gap). */
const liveHistoryMarginMs = 60_000;

export interface OrdersModuleOptions {
  settings?: Partial<OrdersSettings>;
  /** The checkout's steps, given the default deps (the payments issue inserts its step here). */
  steps?: (deps: StepDeps) => CheckoutStep[];
  /** Sees each checkout step boundary (a crash test's entry file kills its process here). */
  onBoundary?: CheckoutRunnerOptions['onBoundary'];
}

/**
 * Orders and checkout: the event-sourced Order (stream `order-<id>`, published on `bv.orders`
 * through the store's outbox), placing with idempotency keys, the checkout saga over inventory's
 * reservations, the read models, and the pick progress learnt from `bv.fulfilment`.
 */
export async function createOrdersModule(
  ctx: ModuleContext,
  options: OrdersModuleOptions = {},
): Promise<CloudModule> {
  const { inventory, registry } = ctx.apis;
  if (!inventory || !registry) throw new Error('orders needs the registry and inventory modules');
  const holds = inventory;
  const settings = { ...ordersDefaults, ...options.settings };
  await migrateOrders(ctx.database);
  await CheckoutRunner.migrate(ctx.database);
  const logger = ctx.logger.child({ module: 'orders' });
  const store = ctx.eventStore;
  const deps: StepDeps = {
    store,
    stock: inventory,
    holdSeconds: settings.holdSeconds,
    // Payments mounts after orders (it needs orders' events): looked up when a checkout runs.
    payments: () => {
      const { payments, catalog } = ctx.apis;
      return payments && catalog ? { payments, prices: catalog } : undefined;
    },
  };
  const runner = new CheckoutRunner({
    database: ctx.database,
    store,
    steps: (options.steps ?? checkoutSteps)(deps),
    logger,
    metrics: ctx.metrics,
    leaseMs: settings.checkoutLeaseMs,
    concurrency: settings.checkoutConcurrency,
    ...(options.onBoundary ? { onBoundary: options.onBoundary } : {}),
  });
  const service = new OrderService(
    ctx.database,
    store,
    {
      unknownSkus: async (skus) => {
        const found = await Promise.all(
          skus.map((sku) =>
            inventory.getProduct(sku).then(
              () => undefined,
              (error: unknown) => {
                if (error instanceof NotFoundError) return sku;
                throw error;
              },
            ),
          ),
        );
        return found.filter((s): s is string => s !== undefined);
      },
      siteExists: (siteId) =>
        registry.getSite(siteId).then(
          () => true,
          (error: unknown) => {
            if (error instanceof NotFoundError) return false;
            throw error;
          },
        ),
    },
    (orderId) => runner.kick(orderId),
    async (ids) => {
      for (const id of ids) await inventory.release(id);
    },
    { maxBatch: settings.placeMaxBatch, maxInFlight: settings.placeInFlight },
  );
  const reads = new OrderReadModels(ctx.database);
  const ignored = counter(
    ctx.metrics,
    'bv_orders_pick_events_ignored_total',
    'Pick events that did not move an order (already there, or unknown order), by reason',
    ['reason'],
  );
  let projections: ProjectionRunner | undefined;
  let relay: OutboxRelay | undefined;

  async function onPick(event: BvEvent): Promise<void> {
    const at = new Date().toISOString();
    let orderId: string;
    let command: Parameters<OrderService['apply']>[1];
    if (event.type === pickStartedV1.type) {
      const d = pickStartedV1.schema.parse(event.data);
      orderId = d.orderId;
      command = { kind: 'startPicking', by: `pick:${d.pickId}`, at };
    } else if (event.type === pickCompletedV1.type) {
      const d = pickCompletedV1.schema.parse(event.data);
      orderId = d.orderId;
      command = { kind: 'markPicked', by: `pick:${d.pickId}`, at: d.completedAt };
    } else return;
    try {
      await service.apply(orderId, command);
    } catch (error) {
      // A redelivered pick event finds the order already moved on: nothing to do, counted.
      if (error instanceof NotFoundError) {
        ignored.inc({ reason: 'unknown_order' });
        return;
      }
      if (isRuleConflict(error)) ignored.inc({ reason: 'wrong_status' });
      else throw error;
    }
    // The picked units left the shelf (on hand is lower now), so the order's committed holds end;
    // a redelivery after a crash here consumes again, a no-op.
    if (event.type === pickCompletedV1.type) {
      const { state } = await loadOrder(store, orderId);
      if (state.status !== 'none') await holds.consume(state.reservations.map((r) => r.reservationId));
    }
  }

  const api: OrdersApi = { place: (input) => service.place(input), find: (id) => reads.get(id) };
  return {
    name: 'orders',
    provides: { orders: api },
    routes: orderRoutes(service, reads),
    pages: ordersPages({ kit: ctx.dashboard, registry, reads }),
    nav: [ordersNav],
    grpc: [ordersGrpcService({ service, authenticate: ctx.authenticate, logger })],
    consumers: [{ group: 'orders.picks', topics: [topics.fulfilment], handle: onPick }],
    timers: [
      {
        name: 'checkout-resume',
        everyMs: settings.resumeEveryMs,
        run: async () => {
          await runner.resumeDue();
        },
      },
    ],
    health: {
      checkout: async () => {
        await ctx.database.ping();
      },
    },
    async start() {
      projections = await startProjections({
        store,
        database: ctx.database,
        // After the view's projections: a message's reader finds the view at least that far.
        projections: [
          ...orderProjections,
          orderLiveProjection({
            hub: ctx.hub,
            since: new Date(Date.now() - liveHistoryMarginMs),
            skipped: counter(
              ctx.metrics,
              'bv_orders_live_skipped_total',
              'Order events sent no live message (history before the start, order not in the view)',
              ['reason'],
            ),
          }),
        ],
        logger,
        metrics: ctx.metrics,
      });
      relay = await startOutboxRelay({
        database: ctx.database,
        eventLog: ctx.eventLog,
        logger,
        metrics: ctx.metrics,
      });
      await runner.resumeDue();
    },
    async close() {
      await runner.close();
      await projections?.close();
      await relay?.close();
    },
  };
}

function isRuleConflict(error: unknown): boolean {
  return (
    error instanceof OrderRuleError ||
    (error as { details?: { rule?: string } } | null)?.details?.rule === 'wrong_status'
  );
}
