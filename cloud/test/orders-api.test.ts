import { setTimeout as delay } from 'node:timers/promises';
import { type BvEvent, topics } from '@bitv/shared/events';
import { serverAvailable, uniqueName } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, type DatabaseKind, json, startTestCloud, type TestCloud } from './harness.js';

const kinds: DatabaseKind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

let last: unknown;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await delay(100);
  }
}

for (const kind of kinds) {
  describe(`orders API on ${kind}`, () => {
    let t: TestCloud;
    let shopper: string;
    let otherShopper: string;
    let staff: string;
    const orderEvents: BvEvent[] = [];
    const url = (path: string) => `${t.cloud.url}${path}`;
    const post = (token: string, body: unknown, key?: string) =>
      fetch(url('/api/v1/orders'), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const get = (token: string, path: string) =>
      fetch(url(path), { headers: { authorization: `Bearer ${token}` } });

    beforeAll(async () => {
      // Without fulfilment: it would start picking a confirmed order at once (tested end to end elsewhere).
      t = await startTestCloud(kind, { modules: ['registry', 'inventory', 'orders'] });
      await t.cloud.seedDemo({
        siteId: 'site-1',
        gatewayId: 'gw-1',
        shelves: [
          {
            serialNumber: 'ORD-1',
            bins: [
              { sku: 'API-BOLT', unitWeightG: 10, count: 5 },
              { sku: 'API-NUT', unitWeightG: 4, count: 50 },
            ],
          },
        ],
      });
      shopper = await t.token('partner');
      otherShopper = await t.token('partner');
      staff = await t.token('staff', ['site-1']);
      await t.eventLog.subscribe({
        group: uniqueName('orders-watch'),
        topics: [topics.orders],
        fromBeginning: true,
        handler: async (event) => {
          orderEvents.push(event);
        },
      });
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    it('places an order that checkout confirms, answers a retry with the stored response and refuses the key with another body', async () => {
      const body = { siteId: 'site-1', lines: [{ sku: 'API-BOLT', quantity: 2 }] };
      const first = await post(shopper, body, 'key-1');
      expect(first.status).toBe(201);
      const placed = await json(first);
      const again = await post(shopper, body, 'key-1');
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await json(again)).orderId).toBe(placed.orderId);
      const other = await post(shopper, { ...body, lines: [{ sku: 'API-BOLT', quantity: 3 }] }, 'key-1');
      expect(other.status).toBe(422);
      expect(((await json(other)).error as { code: string }).code).toBe('idempotency_key_reused');

      const detail = await until('the order confirmed in its read model', async () => {
        const r = await json(await get(shopper, `/api/v1/orders/${placed.orderId}`));
        last = r;
        const order = r.order as { status: string } | undefined;
        return order?.status === 'confirmed' && (r.timeline as unknown[]).length === 3 ? r : undefined;
      });
      expect((detail.timeline as { type: string }[]).map((e) => e.type)).toEqual([
        'bv.order.placed.v1',
        'bv.order.reserved.v1',
        'bv.order.confirmed.v1',
      ]);
      // The outbox delivered the order's events to the event log, in order.
      const delivered = await until('bv.orders events', async () => {
        const mine = orderEvents.filter((e) => (e.data as { orderId: string }).orderId === placed.orderId);
        return mine.length >= 3 ? mine : undefined;
      });
      expect(delivered.map((e) => e.type)).toEqual([
        'bv.order.placed.v1',
        'bv.order.reserved.v1',
        'bv.order.confirmed.v1',
      ]);
    }, 120_000);

    it('shows a shopper only their own orders, staff their site', async () => {
      const placed = await json(
        await post(shopper, { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: 1 }] }),
      );
      expect((await get(otherShopper, `/api/v1/orders/${placed.orderId}`)).status).toBe(404);
      expect((await get(staff, `/api/v1/orders/${placed.orderId}`)).status).toBe(200);
      const outsider = await t.token('staff', ['site-2']);
      expect((await get(outsider, `/api/v1/orders/${placed.orderId}`)).status).toBe(404);
      await until('the order listed', async () => {
        const mine = (await json(await get(shopper, '/api/v1/orders'))).orders as { orderId: string }[];
        return mine.some((o) => o.orderId === placed.orderId) ? true : undefined;
      });
      const theirs = (await json(await get(otherShopper, '/api/v1/orders'))).orders as unknown[];
      expect(theirs).toEqual([]);
      const bySite = await until('by site and status', async () => {
        const r = (await json(await get(staff, '/api/v1/orders?siteId=site-1&status=confirmed'))).orders as {
          orderId: string;
        }[];
        return r.some((o) => o.orderId === placed.orderId) ? r : undefined;
      });
      expect(bySite.length).toBeGreaterThanOrEqual(1);
      const sales = await until('sales of today', async () => {
        const days = (await json(await get(staff, '/api/v1/orders/sales'))).days as { units: number }[];
        return days.length > 0 ? days : undefined;
      });
      expect(sales[0]?.units).toBeGreaterThanOrEqual(1);
    }, 120_000);

    it('refuses bad input with 4xx and writes nothing', async () => {
      const before = (await json(await get(staff, '/api/v1/orders?limit=200'))).orders as unknown[];
      const bad: [string, unknown][] = [
        ['not JSON', '{"siteId":'],
        ['no lines', { siteId: 'site-1', lines: [] }],
        ['zero quantity', { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: 0 }] }],
        ['negative quantity', { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: -1 }] }],
        ['fractional quantity', { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: 1.5 }] }],
        ['unknown SKU', { siteId: 'site-1', lines: [{ sku: 'NO-SUCH', quantity: 1 }] }],
        ['unknown site', { siteId: 'nowhere', lines: [{ sku: 'API-NUT', quantity: 1 }] }],
        ['extra field', { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: 1 }], price: 0 }],
        ['string quantity', { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: '1' }] }],
      ];
      for (const [what, body] of bad) {
        const r = await post(shopper, body);
        expect(r.status, what).toBeGreaterThanOrEqual(400);
        expect(r.status, what).toBeLessThan(500);
        const error = (await json(r)).error as { message: string };
        expect(error.message.length, what).toBeGreaterThan(0);
      }
      await delay(300);
      const after = (await json(await get(staff, '/api/v1/orders?limit=200'))).orders as unknown[];
      expect(after.length).toBe(before.length);
    }, 120_000);

    it('rejects an order for more than is in stock, and lets a shopper cancel a confirmed one', async () => {
      const tooMany = await json(
        await post(shopper, { siteId: 'site-1', lines: [{ sku: 'API-BOLT', quantity: 50 }] }),
      );
      await until('rejected', async () => {
        const r = await json(await get(shopper, `/api/v1/orders/${tooMany.orderId}`));
        return (r.order as { status: string }).status === 'rejected' ? true : undefined;
      });
      const ok = await json(
        await post(shopper, { siteId: 'site-1', lines: [{ sku: 'API-NUT', quantity: 2 }] }),
      );
      await until('confirmed', async () => {
        const r = await json(await get(shopper, `/api/v1/orders/${ok.orderId}`));
        return (r.order as { status: string }).status === 'confirmed' ? true : undefined;
      });
      const cancel = await fetch(
        url(`/api/v1/orders/${ok.orderId}/cancel`),
        authed(shopper, { reason: 'no' }),
      );
      expect(cancel.status).toBe(200);
      const stranger = await fetch(url(`/api/v1/orders/${ok.orderId}/cancel`), authed(otherShopper, {}));
      expect(stranger.status).toBe(404);
      const pack = await fetch(url(`/api/v1/orders/${ok.orderId}/pack`), authed(staff, {}));
      expect(pack.status).toBe(409);
    }, 120_000);
  });
}
