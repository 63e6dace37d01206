import { randomUUID } from 'node:crypto';
import { type BvEvent, createEvent, orderPlacedV1, topics } from '@bitv/shared/events';
import { eventually, serverAvailable } from '@bitv/shared/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';
import { startReceiver } from './webhooks-receiver.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
type Placed = { data: { orderId: string } };

const placed = (orderId: string = randomUUID(), key: string = orderId): BvEvent =>
  createEvent(orderPlacedV1, {
    source: '/bitv/cloud/orders',
    key,
    data: {
      orderId,
      customerId: 'c-1',
      siteId: 'site-1',
      lines: [{ lineId: 'l1', sku: 'SKU-1', quantity: 1 }],
      placedBy: 'user:c-1',
      placedAt: new Date().toISOString(),
    },
  });

// Queue implementations the module runs on: the database queue always, RabbitMQ when it answers.
const queues: { name: string; amqpUrl?: string }[] = [{ name: 'database queue (PGlite)' }];
if (await serverAvailable('rabbitmq')) {
  queues.push({
    name: 'RabbitMQ',
    amqpUrl: process.env.BV_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  });
}

for (const q of queues) {
  // Tests here wait up to 30 s more than once: above the project's 30 s test timeout, which cut
  // the in-order test off in a loaded CI run before its wait could say which step was slow.
  describe(`webhooks end to end on the ${q.name}`, { timeout: 90_000 }, () => {
    let t: TestCloud;
    let receiver: Receiver;
    let partner: string;
    const api = (path: string, init?: RequestInit) => fetch(`${t.cloud.url}${path}`, init);
    const queueName = `bv.webhooks.test.${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      receiver = await startReceiver((path, nth) => {
        if (path === '/flaky') return nth <= 2 ? 500 : 200;
        if (path === '/gone') return 410;
        if (path === '/down') return 503;
        if (path === '/ordered') return nth === 1 ? 500 : 200;
        return 200;
      });
      t = await startTestCloud('pglite', {
        modules: ['webhooks'],
        webhooks: {
          allowPrivate: true, // the receiver is on loopback
          schedule: '0,300ms,300ms',
          timeoutMs: 3_000,
          queueName,
          ...(q.amqpUrl ? { amqpUrl: q.amqpUrl } : {}),
        },
      });
      partner = await t.token('partner');
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    const register = async (path: string, extra: Record<string, unknown> = {}) => {
      const res = await api(
        '/api/v1/webhooks/endpoints',
        authed(partner, { url: receiver.url(path), eventTypes: ['bv.order.*'], ...extra }),
      );
      expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
      return (await res.json()) as { id: string; secret: string };
    };
    const deliveries = async (id: string) =>
      (await (
        await api(`/api/v1/webhooks/endpoints/${id}/deliveries`, authed(partner, undefined, 'GET'))
      ).json()) as {
        id: string;
        status: string;
        attempts: number;
        log: { statusCode: number | null; ok: boolean; latencyMs: number; responseSnippet: string | null }[];
      }[];

    it('delivers an order event signed per Standard Webhooks, once, with its attempt logged', async () => {
      const endpoint = await register('/ok');
      expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
      const event = placed();
      await t.eventLog.publish(topics.orders, event);
      await eventually(() => receiver.on('/ok').length === 1, 'the delivery', 30_000);
      const got = receiver.on('/ok')[0];
      if (!got) throw new Error('no request');
      // The standardwebhooks package is the judge of the signature.
      const verified = new Webhook(endpoint.secret).verify(got.body, {
        'webhook-id': String(got.headers['webhook-id']),
        'webhook-timestamp': String(got.headers['webhook-timestamp']),
        'webhook-signature': String(got.headers['webhook-signature']),
      }) as { type: string; data: { orderId: string } };
      expect(verified.type).toBe('bv.order.placed.v1');
      expect(verified.data.orderId).toBe((event.data as { orderId: string }).orderId);
      expect(() =>
        new Webhook(`whsec_${Buffer.from('another secret of 24 b').toString('base64')}`).verify(got.body, {
          'webhook-id': String(got.headers['webhook-id']),
          'webhook-timestamp': String(got.headers['webhook-timestamp']),
          'webhook-signature': String(got.headers['webhook-signature']),
        }),
      ).toThrow();

      // The same event again (a redelivery of the log): no second delivery.
      await t.eventLog.publish(topics.orders, event);
      await t.eventLog.publish(topics.orders, placed()); // and a new one, to know the first was handled
      await eventually(() => receiver.on('/ok').length === 2, 'the second event', 30_000);
      const log = await eventually(async () => {
        const d = await deliveries(endpoint.id);
        return d.length === 2 && d.every((x) => x.status === 'delivered') ? d : undefined;
      }, 'both delivered in the log');
      expect(log.map((d) => d.attempts)).toEqual([1, 1]);
      expect(log[0]?.log[0]).toMatchObject({ statusCode: 200, ok: true });
      expect(log[0]?.log[0]?.responseSnippet).toMatch(/answer 200/);
      expect(new Set(receiver.on('/ok').map((r) => r.headers['webhook-id'])).size).toBe(2);
    });

    it('retries on the schedule until the receiver takes it, logging each attempt', async () => {
      const endpoint = await register('/flaky');
      await t.eventLog.publish(topics.orders, placed());
      const [d] = await eventually(
        async () => {
          const list = await deliveries(endpoint.id);
          return list[0]?.status === 'delivered' ? list : undefined;
        },
        'the third attempt to succeed',
        30_000,
      );
      expect(d?.log.map((a) => a.statusCode)).toEqual([500, 500, 200]);
      const ids = new Set(receiver.on('/flaky').map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1); // one message id across its attempts
    });

    it('dead-letters after the last attempt, and a retry sends it again', async () => {
      const endpoint = await register('/down');
      await t.eventLog.publish(topics.orders, placed());
      const [d] = await eventually(
        async () => {
          const list = await deliveries(endpoint.id);
          return list[0]?.status === 'dead' ? list : undefined;
        },
        'the delivery to be dead',
        30_000,
      );
      expect(d?.log.map((a) => a.statusCode)).toEqual([503, 503, 503]);
      const res = await api(
        `/api/v1/webhooks/endpoints/${endpoint.id}/deliveries/${d?.id}/retry`,
        authed(partner),
      );
      expect(res.status).toBe(200);
      await eventually(() => receiver.on('/down').length === 4, 'the manual retry', 30_000);
    });

    it('disables an endpoint that answers 410 and tells its owner', async () => {
      const endpoint = await register('/gone');
      await t.eventLog.publish(topics.orders, placed());
      await eventually(
        async () => {
          const list = (await json(
            await api('/api/v1/webhooks/endpoints', authed(partner, undefined, 'GET')),
          )) as unknown as { id: string; enabled: boolean; disabledReason: string | null }[];
          return list.find((e) => e.id === endpoint.id && !e.enabled);
        },
        'the endpoint disabled',
        30_000,
      );
      // Later events are not sent to a disabled endpoint.
      const later = placed();
      await t.eventLog.publish(topics.orders, later);
      await register('/ok'); // a fresh endpoint sees the next event
      const next = placed();
      await t.eventLog.publish(topics.orders, next);
      // Both handled (the endpoints of every earlier test's `/ok` take them too): only then is
      // /gone's count final, and neither can reach the next test's endpoint.
      const okOrders = () => receiver.on('/ok').map((r) => (JSON.parse(r.body) as Placed).data.orderId);
      await eventually(
        () => [later, next].every((e) => okOrders().includes((e.data as Placed['data']).orderId)),
        'both events on /ok',
        30_000,
      );
      expect(receiver.on('/gone')).toHaveLength(1);
    });

    it('keeps an in-order endpoint in order while its first delivery is retried, and replays a window', async () => {
      const endpoint = await register('/ordered', { inOrder: true });
      // One key: the log keeps their order (different keys may be consumed in parallel).
      const events = [
        placed(undefined, 'customer-7'),
        placed(undefined, 'customer-7'),
        placed(undefined, 'customer-7'),
      ];
      for (const e of events) await t.eventLog.publish(topics.orders, e);
      await eventually(() => receiver.on('/ordered').length === 4, 'three deliveries and one retry', 30_000);
      const orderIds = receiver
        .on('/ordered')
        .map((r) => (JSON.parse(r.body) as { data: { orderId: string } }).data.orderId);
      const sent = events.map((e) => (e.data as { orderId: string }).orderId);
      expect(orderIds).toEqual([sent[0], sent[0], sent[1], sent[2]]);

      const from = new Date(Date.now() - 60_000).toISOString();
      const to = new Date(Date.now() + 1_000).toISOString();
      const res = await api(
        `/api/v1/webhooks/endpoints/${endpoint.id}/replay`,
        authed(partner, { from, to }),
      );
      expect(await res.json()).toEqual({ queued: 3 });
      await eventually(() => receiver.on('/ordered').length === 7, 'the replayed three', 30_000);
    });

    it('keeps partners to their own endpoints and lists the routes in /openapi.json', async () => {
      const endpoint = await register('/ok');
      const other = await t.token('partner');
      const res = await api(
        `/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`,
        authed(other, undefined, 'GET'),
      );
      expect(res.status).toBe(404);
      const staff = await t.token('staff');
      expect((await api('/api/v1/webhooks/endpoints', authed(staff, undefined, 'GET'))).status).toBe(403);
      const doc = (await (await api('/openapi.json')).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/api/v1/webhooks/endpoints/{id}/replay');
    });
  });
}
