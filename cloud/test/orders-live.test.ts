import { eventually, serverAvailable } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DatabaseKind, json, startTestCloud, type TestCloud } from './harness.js';

type Message = Record<string, unknown>;

const kinds: DatabaseKind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

for (const kind of kinds)
  describe(kind, () => {
    let t: TestCloud;
    beforeAll(async () => {
      // Without fulfilment: it would start picking a confirmed order at once.
      t = await startTestCloud(kind, { modules: ['registry', 'inventory', 'orders'] });
      await t.cloud.seedDemo({
        siteId: 'site-1',
        gatewayId: 'gw-1',
        shelves: [{ serialNumber: 'LIVE-1', bins: [{ sku: 'LIVE-CUP', unitWeightG: 10, count: 20 }] }],
      });
      await t.cloud.services.registry.createSite({ id: 'site-2', name: 'Elsewhere' });
    }, 120_000);
    afterAll(() => t?.close());

    function open(token: string, query = ''): Promise<{ ws: WebSocket; messages: Message[] }> {
      const url = `${t.cloud.url.replace(/^http/, 'ws')}/api/v1/live${query}`;
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
        const messages: Message[] = [];
        ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
        ws.once('open', () => resolve({ ws, messages }));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      });
    }

    async function place(token: string): Promise<string> {
      const res = await fetch(`${t.cloud.url}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ siteId: 'site-1', lines: [{ sku: 'LIVE-CUP', quantity: 1 }] }),
      });
      expect(res.status).toBe(201);
      return String((await json(res)).orderId);
    }

    const ordersIn = (messages: Message[], orderId: string) =>
      messages.filter((m) => m.type === 'order' && m.orderId === orderId);

    describe(`live order status on ${kind}`, () => {
      it('reaches the shopper who placed it and its site staff, no other shopper and no other site', async () => {
        const alice = await t.token('partner');
        const bob = await t.token('partner');
        const siteStaff = await t.token('staff', ['site-1']);
        const otherStaff = await t.token('staff', ['site-2']);
        const sockets = {
          alice: await open(alice),
          bob: await open(bob),
          siteStaff: await open(siteStaff),
          otherStaff: await open(otherStaff),
        };
        for (const s of Object.values(sockets))
          await eventually(() => s.messages[0]?.type === 'hello', 'hello');

        const aliceOrder = await place(alice);
        const bobOrder = await place(bob);
        for (const [who, order] of [
          ['alice', aliceOrder],
          ['bob', bobOrder],
          ['siteStaff', aliceOrder],
          ['siteStaff', bobOrder],
        ] as const) {
          await eventually(
            () => ordersIn(sockets[who].messages, order).some((m) => m.status === 'confirmed'),
            `${who} sees ${order} confirmed`,
            60_000,
          );
        }
        const seen = ordersIn(sockets.alice.messages, aliceOrder);
        expect(seen.map((m) => m.status)).toEqual(['placed', 'reserved', 'confirmed']);
        expect(seen[2]).toMatchObject({ siteId: 'site-1', version: 3, event: 'bv.order.confirmed.v1' });
        // The rules: a shopper sees only their own orders; staff only their sites'.
        expect(ordersIn(sockets.alice.messages, bobOrder)).toEqual([]);
        expect(ordersIn(sockets.bob.messages, aliceOrder)).toEqual([]);
        expect(sockets.otherStaff.messages.filter((m) => m.type === 'order')).toEqual([]);
        for (const s of Object.values(sockets)) s.ws.close();
      }, 120_000);

      it('the orders page lists a shopper only their own orders, and an order of theirs with its timeline', async () => {
        const carol = await t.token('partner');
        const dave = await t.token('partner');
        const carolOrder = await place(carol);
        const daveOrder = await place(dave);
        const page = (token: string, path: string) =>
          fetch(`${t.cloud.url}${path}`, { headers: { cookie: `bv_access=${token}`, accept: 'text/html' } });
        const list = await eventually(
          async () => {
            const html = await (await page(carol, '/orders')).text();
            return html.includes(carolOrder) ? html : undefined;
          },
          'carol sees her order',
          60_000,
        );
        expect(list).not.toContain(daveOrder);
        expect(list).toContain('/assets/orders.js');
        const detail = await page(carol, `/orders/${carolOrder}`);
        expect(detail.status).toBe(200);
        expect(await detail.text()).toContain('data-event="bv.order.placed.v1"');
        expect((await page(carol, `/orders/${daveOrder}`)).status).toBe(404);
        const staff = await t.token('staff', ['site-1']);
        const filtered = await (await page(staff, '/orders?status=&site=site-1')).text();
        expect(filtered).toContain(carolOrder);
        expect(filtered).toContain(daveOrder);
        expect((await page(staff, '/orders?status=lost')).status).toBe(400);
      }, 120_000);
    });
  });
