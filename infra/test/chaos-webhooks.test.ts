import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { openDatabase } from '@bitv/shared/db';
import { createEvent, stockAlertV1 } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { openRabbitQueue, type Queue, type Subscription } from '@bitv/shared/queue';
import { amqpUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { FaultProxy } from '@bitv/shared/testing/fault-proxy';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateWebhooks } from '../../cloud/src/webhooks/migrations.js';
import { WebhookService } from '../../cloud/src/webhooks/service.js';
import { parseSchedule, webhookDefaults } from '../../cloud/src/webhooks/settings.js';
import { WebhookStore } from '../../cloud/src/webhooks/store.js';
import { heal, pause, proxyLine, until } from './chaos-harness.js';

const available = await serverAvailable('rabbitmq');

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const { values } = (await registry.getSingleMetric(name)?.get()) ?? { values: [] };
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

/**
 * Chaos on the webhook path: the webhooks service delivering through RabbitMQ (real, behind one
 * fault proxy) to a partner receiver (behind another). Faults: latency over the delivery timeout,
 * resets at the receiver, the RabbitMQ connection killed while deliveries are in flight, and the
 * receiver down for a long time in the compressed Svix schedule (its 8 attempts spread over ~13 s
 * instead of ~27 h), then back. The receiver verifies every request with the `standardwebhooks`
 * package. Afterwards: every event received (0 lost), duplicates (same webhook-id) counted, the
 * endpoint's breaker opened and closed again.
 */
describe.skipIf(!available)(
  'chaos: webhooks through RabbitMQ to a partner receiver, both behind fault proxies',
  () => {
    const registry = createRegistry();
    const received = new Map<string, number>();
    let forged = 0;
    let receiver: Server;
    let receiverProxy: FaultProxy;
    let rabbitProxy: FaultProxy;
    let queue: Queue;
    let subscription: Subscription | undefined;
    let service: WebhookService;
    let store: WebhookStore;
    let endpointId = '';
    let secret = '';
    const closers: Array<() => Promise<void>> = [];
    const sent = new Set<string>();
    /** The phase each event was emitted in, to say where a lost one came from. */
    const phaseOf = new Map<string, string>();
    const seen = new Set<number>();
    let sampler: NodeJS.Timeout | undefined;

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        // The proxy in front resets connections on purpose: a reset request or answer is the fault
        // under test (the sender retries), not an error of the receiver.
        req.on('error', () => undefined);
        res.on('error', () => undefined);
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          try {
            new Webhook(secret).verify(body, req.headers as Record<string, string>);
          } catch {
            forged++;
            res.writeHead(400).end();
            return;
          }
          const id = String(req.headers['webhook-id']);
          received.set(id, (received.get(id) ?? 0) + 1);
          res.writeHead(204).end();
        });
      });
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      const port = (receiver.address() as { port: number }).port;
      receiverProxy = await FaultProxy.start({ upstream: `127.0.0.1:${port}`, name: 'receiver' });
      const target = new URL(amqpUrl());
      rabbitProxy = await FaultProxy.start({
        upstream: `${target.hostname}:${target.port || 5672}`,
        name: 'rabbitmq',
      });
      const url = new URL(amqpUrl());
      url.host = rabbitProxy.address;

      const database = await openDatabase();
      closers.push(() => database.close());
      await migrateWebhooks(database);
      store = new WebhookStore(database);
      queue = await openRabbitQueue({
        url: url.toString(),
        logger: silentLogger,
        metrics: registry,
        timeoutMs: 2_000,
        failureDelayMs: 100,
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      });
      // Svix's schedule (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) divided by ~7,500
      const scheduleMs = parseSchedule('0,50,100,250,1000,2500,4800,4800');
      const settings = {
        ...webhookDefaults,
        queueName: uniqueName('bv-chaos-webhooks'),
        allowPrivate: true,
        timeoutMs: 500,
        disableAfterMs: 600_000,
        defaultRatePerSecond: 1_000,
        scheduleMs,
      };
      await queue.declare(settings.queueName, { maxAttempts: scheduleMs.length });
      service = new WebhookService({ store, queue, settings, logger: silentLogger, metrics: registry });
      const endpoint = await service.createEndpoint('partner-1', {
        url: `http://${receiverProxy.address}/hooks`,
        eventTypes: ['bv.inventory.*'],
      });
      endpointId = endpoint.id;
      secret = endpoint.secret;
      subscription = await queue.consume(settings.queueName, (d) => service.handle(d), { prefetch: 16 });
      closers.push(async () => {
        await queue.remove(settings.queueName).catch(() => undefined);
      });
      sampler = setInterval(() => {
        void metric(registry, 'bv_dependency_breaker_state', { dependency: `webhook:${endpointId}` }).then(
          (v) => seen.add(v),
        );
      }, 50);
    });
    afterAll(async () => {
      clearInterval(sampler);
      await subscription?.close().catch(() => undefined);
      for (const close of closers.reverse()) await close();
      await queue?.close();
      await rabbitProxy?.close();
      await receiverProxy?.close();
      receiver?.close();
    });

    const emit = async (count: number, label: string) => {
      for (let i = 0; i < count; i++) {
        const event = createEvent(stockAlertV1, {
          source: '/chaos',
          key: 'shelf-1',
          data: {
            alertId: randomUUID(),
            siteId: 'site-1',
            shelfId: 'shelf-1',
            bin: i % 8,
            sku: `sku-${label}`,
            kind: 'low_stock',
            status: 'open',
            count: 1,
            threshold: 2,
          },
        });
        await service.onEvent(event);
        sent.add(event.id);
        phaseOf.set(event.id, label);
      }
    };
    const lost = async () => {
      const { deliveryIdOf } = await import('../../cloud/src/webhooks/service.js');
      return [...sent].filter((eventId) => !received.has(deliveryIdOf(endpointId, eventId)));
    };

    it('0 webhooks lost through latency, resets, a killed RabbitMQ connection and a long receiver outage', async () => {
      await emit(10, 'calm');
      expect(await until(async () => (await lost()).length === 0)).toBe(true);

      // resets at the receiver after the request went out
      receiverProxy.addToxic({
        type: 'reset_peer',
        toxicity: 0.5,
        stream: 'upstream',
        attributes: { timeout: 5 },
      });
      await emit(10, 'reset');
      await pause(1_000);
      receiverProxy.clearToxics();

      // the RabbitMQ connection killed while deliveries are in flight (a slow receiver holds them)
      receiverProxy.addToxic({ type: 'latency', attributes: { latency: 300 } });
      await emit(10, 'rabbit');
      await pause(150);
      await rabbitProxy.disable();
      await pause(300);
      await rabbitProxy.enable();
      receiverProxy.clearToxics();

      // latency over the 500 ms delivery timeout on half the receiver connections: retried attempts (late in the run: five
      // failures in a row open the endpoint's breaker for 30 s)
      receiverProxy.addToxic({ type: 'latency', toxicity: 0.5, attributes: { latency: 700, jitter: 100 } });
      await emit(10, 'slow');
      await pause(1_500);
      receiverProxy.clearToxics();

      // the receiver down for the compressed equivalent of hours: its breaker opens, the
      // deliveries wait (held, not counted as attempts), then it comes back
      await receiverProxy.disable();
      await emit(10, 'outage');
      expect(await until(() => seen.has(2), 100)).toBe(true);
      await pause(5_000);
      await receiverProxy.enable();

      // a black hole on RabbitMQ for a moment, healed
      rabbitProxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 1_000 } });
      await pause(1_500);
      await heal(rabbitProxy, 'timeout_upstream');

      await emit(5, 'after');
      // bounded: the breaker waits halfOpenAfterMs (30 s) before its trial delivery
      const done = await until(async () => (await lost()).length === 0, 900, 100);
      const missing = await lost();
      // what became of each lost one, from the delivery log (status, attempts, last errors)
      const { deliveryIdOf } = await import('../../cloud/src/webhooks/service.js');
      for (const eventId of missing) {
        const id = deliveryIdOf(endpointId, eventId);
        const row = await store.delivery(id).catch(() => undefined);
        const log = row ? await store.attempts(id) : [];
        console.log(
          `  lost ${id} (${phaseOf.get(eventId)}): ${row ? `${row.status}, ${row.attempts} attempts` : 'no delivery row'}; ${log
            .map((a) => a.error ?? a.statusCode)
            .join(' | ')}`,
        );
      }
      const duplicates = [...received.values()].reduce((s, n) => s + n - 1, 0);
      const state = await metric(registry, 'bv_dependency_breaker_state', {
        dependency: `webhook:${endpointId}`,
      });
      const held = await metric(registry, 'bv_webhooks_attempts_total', { outcome: 'held' });
      const errors = await metric(registry, 'bv_webhooks_attempts_total', { outcome: 'error' });
      console.log(
        [
          `webhooks chaos: ${sent.size} events, ${received.size} delivered, lost ${missing.length}, duplicates ${duplicates} (same webhook-id), forged ${forged}`,
          `  ${errors} failed attempts retried on the schedule, ${held} held by the open breaker`,
          `  webhook:${endpointId} breaker: seen open ${seen.has(2)}, now ${state === 0 ? 'closed' : state}`,
          `  ${proxyLine(receiverProxy)}`,
          `  ${proxyLine(rabbitProxy)}`,
        ].join('\n'),
      );
      expect(done).toBe(true);
      expect(missing).toEqual([]);
      expect(forged).toBe(0);
      expect(seen.has(2)).toBe(true);
      expect(state).toBe(0);
    }, 180_000);
  },
);
