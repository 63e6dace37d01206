import { openQueue, type Subscription } from '@bitv/shared/queue';
import type { CloudModule, ModuleContext } from '../module.js';
import { webhookTopics } from './event-types.js';
import { migrateWebhooks } from './migrations.js';
import { webhooksNav, webhooksPages } from './pages.js';
import { webhookRoutes } from './routes.js';
import { WebhookService } from './service.js';
import { parseSchedule, type WebhookSettings, webhookDefaults } from './settings.js';
import { WebhookStore } from './store.js';

/**
 * Partner webhooks: endpoints registered by partners, events from orders, payments, low stock and
 * device state turned into signed deliveries on the reliable queue port (RabbitMQ when
 * `AMQP_URL` is set, the database otherwise), the delivery log, retry and replay, the page.
 */
export async function createWebhooksModule(
  ctx: ModuleContext,
  overrides: Partial<WebhookSettings> = {},
): Promise<CloudModule & { webhooks: WebhookService }> {
  const settings = { ...webhookDefaults, ...overrides };
  const scheduleMs = parseSchedule(settings.schedule);
  await migrateWebhooks(ctx.database);
  const logger = ctx.logger.child({ module: 'webhooks' });
  const queue = await openQueue({
    ...(settings.amqpUrl ? { amqpUrl: settings.amqpUrl } : {}),
    database: ctx.database,
    logger,
    metrics: ctx.metrics,
    timeoutMs: settings.timeoutMs,
  });
  await queue.declare(settings.queueName, { maxAttempts: scheduleMs.length });
  const store = new WebhookStore(ctx.database);
  const service = new WebhookService({
    store,
    queue,
    settings: { ...settings, scheduleMs },
    logger,
    metrics: ctx.metrics,
  });
  let subscription: Subscription | undefined;
  return {
    name: 'webhooks',
    webhooks: service,
    routes: webhookRoutes(store, service),
    pages: webhooksPages({ kit: ctx.dashboard, store, service }),
    nav: [webhooksNav],
    consumers: [
      {
        group: 'webhooks',
        topics: webhookTopics,
        handle: async (event) => {
          await service.onEvent(event);
        },
        handleBatch: async (events) => {
          await service.onEvents(events);
        },
      },
    ],
    health: { 'webhooks-queue': () => queue.ping() },
    async start() {
      subscription = await queue.consume(settings.queueName, (d) => service.handle(d), {
        prefetch: settings.concurrency,
      });
      service.start();
      logger.info({ queue: queue.kind, schedule: scheduleMs }, 'webhook delivery started');
    },
    async close() {
      await service.close();
      await subscription?.close();
      await queue.close();
    },
  };
}
