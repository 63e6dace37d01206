import { isRetriable } from '@bitv/shared';
import { type BvEvent, orderCancelledV1, orderPickedV1, orderReturnedV1, topics } from '@bitv/shared/events';
import { counter } from '@bitv/shared/metrics';
import type { CloudModule, ModuleContext } from '../module.js';
import type { PaymentsApi } from './api.js';
import { Attempts } from './attempts.js';
import { PaymentFlags } from './flags.js';
import { type FraudCheck, RulesFraudCheck } from './fraud.js';
import { timeoutGuard } from './guard.js';
import { migratePayments } from './migrations.js';
import { Notifications } from './notifications.js';
import { paymentsNav, paymentsPages } from './pages.js';
import type { PaymentProvider } from './provider.js';
import { RestPayProvider } from './providers/rest/index.js';
import { createSoapBankProvider } from './providers/soap/index.js';
import { PaymentReads } from './read-models.js';
import { Reconciliation } from './reconciliation.js';
import { paymentRoutes } from './routes.js';
import { PaymentService } from './service.js';
import { type PaymentSettings, paymentDefaults } from './settings.js';

export interface PaymentsModuleOptions {
  settings?: Partial<PaymentSettings>;
  /** Providers built by the caller instead of from the settings' URLs (tests). */
  providers?: readonly PaymentProvider[];
  fraud?: FraudCheck;
}

/**
 * Payments: the event-sourced Payment (stream `payment-<id>`, events on `bv.payments` through the
 * outbox), the provider calls with stored idempotency keys, the OpenFeature provider toggle, the
 * fraud hook, notifications, reconciliation, and the steps of an order's money after checkout:
 * capture when picked, void on cancel, refund on return (consumed from `bv.orders`).
 */
export async function createPaymentsModule(
  ctx: ModuleContext,
  options: PaymentsModuleOptions = {},
): Promise<CloudModule> {
  const settings = { ...paymentDefaults, ...options.settings };
  const logger = ctx.logger.child({ module: 'payments' });
  await migratePayments(ctx.database);
  const built = options.providers ?? (await buildProviders(settings, ctx));
  if (built.length === 0) {
    // Without a provider the module still shows its page and API, but offers checkout nothing:
    // orders are confirmed without payment, as before payments existed (said loudly, once).
    logger.warn('no payment provider configured (BV_BANK_URL, BV_REST_PAY_URL): checkout takes no payment');
  }
  const providers = new Map(built.map((p) => [p.name, p]));
  const known = built.map((p) => p.name);
  const flags = new PaymentFlags(ctx.database, known, {
    defaultProvider: known.includes(settings.defaultProvider)
      ? settings.defaultProvider
      : (known[0] ?? settings.defaultProvider),
    merchants: {},
    percentage: null,
  });
  // Before any module starts: orders' start resumes checkouts, which route through the toggle.
  await flags.start();
  const attempts = new Attempts(ctx.database);
  const service = new PaymentService({
    store: ctx.eventStore,
    attempts,
    // The adapters apply their own dependency policy (timeout, breaker, bulkhead); this outer
    // bound only guarantees no call outlives its timeout by much, whatever an adapter does.
    providers: new Map(
      built.map((p) => [p.name, { provider: p, guard: timeoutGuard(p.name, settings.timeoutMs + 1_000) }]),
    ),
    router: flags,
    fraud:
      options.fraud ??
      new RulesFraudCheck(ctx.database, {
        maxAmountMinor: settings.maxAmountMinor,
        velocityLimit: settings.velocityLimit,
        velocityWindowSeconds: settings.velocityWindowSeconds,
        blockedCustomers: settings.blockedCustomers,
      }),
    metrics: ctx.metrics,
    logger,
    retry: { retries: settings.retries, initialDelayMs: settings.retryInitialDelayMs },
  });
  const notifications = new Notifications(ctx.database, logger, ctx.metrics);
  const reconciliation = new Reconciliation(ctx.database, logger, ctx.metrics);
  const reads = new PaymentReads(ctx.database);
  const deferred = counter(
    ctx.metrics,
    'bv_payments_order_steps_deferred_total',
    'Capture/void/refund steps whose provider call did not finish; the pending-attempt timer completes them',
    ['operation'],
  );
  const skipped = counter(
    ctx.metrics,
    'bv_payments_order_events_skipped_total',
    'Order events that needed no money movement (no payment, or nothing left to move), by reason',
    ['reason'],
  );

  /** An order's money after checkout: its payment id is the order id (`orderPaymentId`). */
  async function onOrder(event: BvEvent): Promise<void> {
    let orderId: string;
    let want: 'capture' | 'release';
    if (event.type === orderPickedV1.type) {
      orderId = orderPickedV1.schema.parse(event.data).orderId;
      want = 'capture';
    } else if (event.type === orderCancelledV1.type) {
      orderId = orderCancelledV1.schema.parse(event.data).orderId;
      want = 'release';
    } else if (event.type === orderReturnedV1.type) {
      orderId = orderReturnedV1.schema.parse(event.data).orderId;
      want = 'release';
    } else return;
    const state = await service.current(orderId);
    if (state.status === 'none' || state.status === 'failed') {
      // An authorization a crash left pending is finished first; what it decides is then acted on.
      if ((await service.settlePending(orderId)) === 0) {
        skipped.inc({ reason: 'no_payment' });
        return;
      }
      return onOrder(event);
    }
    // Captured money goes back by refund, an uncaptured authorization by void.
    const operation = want === 'capture' ? 'capture' : state.capturedMinor > 0 ? 'refund' : 'void';
    const left =
      operation === 'capture'
        ? state.status === 'authorized'
          ? state.authorizedMinor - state.capturedMinor
          : 0
        : operation === 'refund'
          ? state.capturedMinor - state.refundedMinor
          : state.status === 'authorized'
            ? 1
            : 0;
    if (left <= 0) {
      skipped.inc({ reason: 'nothing_left' });
      return;
    }
    try {
      if (operation === 'capture') await service.capture(orderId);
      else if (operation === 'refund') await service.refund(orderId);
      else await service.void(orderId);
    } catch (error) {
      // The attempt is stored before the call: the pending-attempt timer finishes it (status
      // first), so a slow provider never sends the order event to the dead-letter topic.
      if (isRetriable(error) && (await attempts.get(`${orderId}:${operation}`))) {
        deferred.inc({ operation });
        logger.warn({ err: error, orderId, operation }, 'payment step deferred to the pending-attempt timer');
        return;
      }
      throw error;
    }
  }

  const api: PaymentsApi = {
    authorize: (input) => service.authorize(input),
    void: (paymentId) => service.void(paymentId),
  };

  return {
    name: 'payments',
    ...(built.length > 0 ? { provides: { payments: api } } : {}),
    routes: paymentRoutes({ reads, flags, reconciliation, notifications, providers }),
    pages: paymentsPages({
      kit: ctx.dashboard,
      reads,
      flags,
      reconciliation,
      reconcile: (day) => reconciliation.run(day, built),
    }),
    nav: [paymentsNav],
    consumers: [{ group: 'payments.orders', topics: [topics.orders], handle: onOrder }],
    timers: [
      {
        name: 'payments-work',
        everyMs: settings.workEveryMs,
        run: async () => {
          await flags.refresh();
          await notifications.process((paymentId) => service.settlePending(paymentId));
          await service.resolveStale(settings.staleAttemptMs);
        },
      },
      {
        name: 'payments-reconcile',
        everyMs: settings.reconcileEveryMs,
        run: async () => {
          const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
          await reconciliation.run(yesterday, built);
        },
      },
    ],
    health: {
      store: async () => {
        await ctx.database.ping();
      },
    },
    async close() {
      await flags.close();
      for (const p of built) await p.close();
    },
  };
}

async function buildProviders(settings: PaymentSettings, ctx: ModuleContext): Promise<PaymentProvider[]> {
  const common = { timeoutMs: settings.timeoutMs, registry: ctx.metrics, log: ctx.logger };
  const out: PaymentProvider[] = [];
  if (settings.bankUrl)
    out.push(await createSoapBankProvider({ url: settings.bankUrl, secret: settings.bankSecret, ...common }));
  if (settings.restPayUrl)
    out.push(new RestPayProvider({ url: settings.restPayUrl, secret: settings.restPaySecret, ...common }));
  return out;
}
