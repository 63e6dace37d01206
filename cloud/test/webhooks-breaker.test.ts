import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { createEvent, stockAlertV1 } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { openDatabaseQueue } from '@bitv/shared/queue';
import { eventually, postgresUrl, uniqueName } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { migrateWebhooks } from '../src/webhooks/migrations.js';
import { WebhookService } from '../src/webhooks/service.js';
import { parseSchedule, webhookDefaults } from '../src/webhooks/settings.js';
import { WebhookStore } from '../src/webhooks/store.js';

const alert = () =>
  createEvent(stockAlertV1, {
    source: '/test',
    key: 'shelf-1',
    data: {
      alertId: randomUUID(),
      siteId: 'site-1',
      shelfId: 'shelf-1',
      bin: 1,
      sku: 'sku-1',
      kind: 'low_stock',
      status: 'open',
      count: 1,
      threshold: 2,
    },
  });

async function breakerState(registry: Registry, endpointId: string): Promise<number> {
  const { values } = (await registry.getSingleMetric('bv_dependency_breaker_state')?.get()) ?? { values: [] };
  return values.find((v) => v.labels.dependency === `webhook:${endpointId}`)?.value ?? 0;
}

/** A webhooks service on PostgreSQL + the database queue, its receiver answering `status` after `delayMs`. */
async function rig(o: { status: number; delayMs: number; timeoutMs: number; perEndpoint: number }) {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(o.status).end(), o.delayMs));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const schema = uniqueName('webhooks_breaker');
  const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
  await migrateWebhooks(database);
  const registry = createRegistry();
  const queue = await openDatabaseQueue({ database, logger: silentLogger, metrics: registry, pollMs: 50 });
  const store = new WebhookStore(database);
  const settings = {
    ...webhookDefaults,
    queueName: 'webhooks',
    allowPrivate: true,
    timeoutMs: o.timeoutMs,
    perEndpointConcurrency: o.perEndpoint,
    defaultRatePerSecond: 1_000,
    disableAfterMs: 600_000,
    scheduleMs: parseSchedule('0,60000,60000'),
  };
  await queue.declare(settings.queueName, { maxAttempts: 3 });
  const service = new WebhookService({ store, queue, settings, logger: silentLogger, metrics: registry });
  const endpoint = await service.createEndpoint('partner-1', {
    url: `http://127.0.0.1:${port}/hooks`,
    eventTypes: ['bv.inventory.*'],
  });
  const subscription = await queue.consume(settings.queueName, (d) => service.handle(d), { prefetch: 8 });
  return {
    service,
    store,
    registry,
    endpoint,
    close: async () => {
      await subscription.close();
      await queue.close();
      await dropSchema(database, schema);
      await database.close();
      server.close();
    },
  };
}

describe('the webhook endpoint breaker', () => {
  it('does not open on deliveries waiting for the endpoint’s own concurrency slots', async () => {
    // Two slots, eight deliveries at once, each answer in 400 ms of a 1 s budget: a delivery that
    // waited behind two rounds ran out of time in our bulkhead, was recorded as the receiver's
    // timeout, and five of those opened the breaker on a healthy receiver (issue #15).
    const r = await rig({ status: 204, delayMs: 400, timeoutMs: 1_000, perEndpoint: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const e = alert();
        await r.service.onEvent(e);
        ids.push(e.id);
      }
      const rows = async () => r.store.deliveries(r.endpoint.id, { limit: 100 });
      await eventually(
        async () => (await rows()).every((d) => d.status === 'delivered'),
        'all 8 delivered',
        60_000,
      );
      const failed = [];
      for (const d of await rows()) for (const a of await r.store.attempts(d.id)) if (!a.ok) failed.push(a);
      expect(failed).toEqual([]);
      expect(await breakerState(r.registry, r.endpoint.id)).toBe(0);
    } finally {
      await r.close();
    }
  }, 90_000);

  it('opens after five 5xx answers in a row', async () => {
    const r = await rig({ status: 503, delayMs: 0, timeoutMs: 2_000, perEndpoint: 1 });
    try {
      for (let i = 0; i < 5; i++) await r.service.onEvent(alert());
      await eventually(
        async () => (await r.store.deliveries(r.endpoint.id, { limit: 100 })).every((d) => d.attempts === 1),
        'five first attempts',
        60_000,
      );
      const rows = await r.store.deliveries(r.endpoint.id, { limit: 100 });
      expect(rows.map((d) => d.status)).toEqual(Array(5).fill('pending'));
      const attempts = await r.store.attempts(rows[0]?.id ?? '');
      expect(attempts[0]?.statusCode).toBe(503);
      expect(attempts[0]?.error).toBeNull();
      expect(await breakerState(r.registry, r.endpoint.id)).toBe(2);
    } finally {
      await r.close();
    }
  }, 90_000);
});
