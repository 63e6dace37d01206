import { ValidationError } from '@bitv/shared';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckoutRunner } from '../src/checkout/runner.js';
import { checkoutSteps } from '../src/checkout/steps.js';
import { IdempotencyMismatchError } from '../src/orders/service.js';
import { loadOrder } from '../src/orders/stream.js';
import { type CheckoutWorld, type Kind, openCheckoutWorld } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

const shopper = (n: number) => ({ customerId: `c${n}`, caller: `user:c${n}`, by: `user:c${n}` });

async function settle(world: CheckoutWorld): Promise<void> {
  await world.runner.resumeDue();
  await world.runner.drained();
}

async function statusOf(world: CheckoutWorld, orderId: string) {
  return (await loadOrder(world.store, orderId)).state.status;
}

for (const kind of kinds) {
  describe(`checkout saga on ${kind}`, () => {
    let world: CheckoutWorld;
    beforeEach(async () => {
      world = await openCheckoutWorld({ kind });
    }, 60_000);
    afterEach(async () => {
      await world.close();
    });

    it('places, reserves every line and confirms', async () => {
      await world.stock('BOLT', 10);
      await world.stock('NUT', 5);
      const placed = await world.service.place({
        ...shopper(1),
        siteId: world.site,
        lines: [
          { sku: 'BOLT', quantity: 4 },
          { sku: 'NUT', quantity: 5 },
        ],
      });
      expect(placed.status).toBe(201);
      await settle(world);
      const order = await loadOrder(world.store, placed.body.orderId);
      expect(order.events.map((e) => e.type)).toEqual([
        'bv.order.placed.v1',
        'bv.order.reserved.v1',
        'bv.order.confirmed.v1',
      ]);
      const held = await world.held();
      expect(held.units).toBe(9);
      expect(held.rows.map((r) => r.reference).sort()).toEqual([
        `order:${placed.body.orderId}:1`,
        `order:${placed.body.orderId}:2`,
      ]);
    }, 60_000);

    it('rejects an order with too little stock and holds none of its lines (all or nothing)', async () => {
      await world.stock('BOLT', 10);
      await world.stock('NUT', 2);
      const placed = await world.service.place({
        ...shopper(1),
        siteId: world.site,
        lines: [
          { sku: 'BOLT', quantity: 4 },
          { sku: 'NUT', quantity: 3 },
        ],
      });
      await settle(world);
      const order = await loadOrder(world.store, placed.body.orderId);
      expect(order.state).toMatchObject({
        status: 'rejected',
        rejection: { code: 'insufficient_stock', lineId: '2' },
      });
      // The first line had enough, but the lines are held together or not at all.
      expect(await world.held()).toEqual({ units: 0, rows: [] });
    }, 60_000);

    it('refuses unknown SKUs and bad lines before writing anything', async () => {
      await world.stock('BOLT', 10);
      await expect(
        world.service.place({ ...shopper(1), siteId: world.site, lines: [{ sku: 'NOPE', quantity: 1 }] }),
      ).rejects.toThrow(/unknown SKU: NOPE/);
      await expect(
        world.service.place({ ...shopper(1), siteId: 'elsewhere', lines: [{ sku: 'BOLT', quantity: 1 }] }),
      ).rejects.toBeInstanceOf(ValidationError);
      const db = world.database.kysely;
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM checkout_sagas`.execute(db);
      expect(rows[0]?.n).toBe(0);
      expect(await world.store.head()).toBe(0n);
    }, 60_000);

    it('answers a retried request with the stored response, and refuses the key with another body', async () => {
      await world.stock('BOLT', 10);
      const request = {
        ...shopper(1),
        siteId: world.site,
        lines: [{ sku: 'BOLT', quantity: 1 }],
        idempotencyKey: 'k-1',
      };
      const [a, b] = await Promise.all([world.service.place(request), world.service.place(request)]);
      const c = await world.service.place(request);
      expect(new Set([a.body.orderId, b.body.orderId, c.body.orderId]).size).toBe(1);
      expect(c.replayed).toBe(true);
      await expect(
        world.service.place({ ...request, lines: [{ sku: 'BOLT', quantity: 2 }] }),
      ).rejects.toBeInstanceOf(IdempotencyMismatchError);
      // Another shopper's key of the same name is theirs.
      const other = await world.service.place({ ...request, ...shopper(2) });
      expect(other.body.orderId).not.toBe(a.body.orderId);
      await settle(world);
      expect((await world.held()).units).toBe(2);
    }, 60_000);

    it('50 shoppers buying 10 units: exactly 10 sold', async () => {
      await world.stock('LAST', 10);
      const placed = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          world.service.place({ ...shopper(i), siteId: world.site, lines: [{ sku: 'LAST', quantity: 1 }] }),
        ),
      );
      await settle(world);
      const statuses = await Promise.all(placed.map((p) => statusOf(world, p.body.orderId)));
      expect(statuses.filter((s) => s === 'confirmed')).toHaveLength(10);
      expect(statuses.filter((s) => s === 'rejected')).toHaveLength(40);
      expect((await world.held('LAST')).units).toBe(10);
    }, 120_000);

    it('a cancelled order is not confirmed and its holds are released', async () => {
      await world.stock('BOLT', 10);
      // No kick: the order waits for the checkout timer, and is cancelled first.
      const placed = await world.service.place({
        ...shopper(1),
        siteId: world.site,
        lines: [{ sku: 'BOLT', quantity: 3 }],
      });
      await world.runner.drained();
      const state = await loadOrder(world.store, placed.body.orderId);
      if (state.state.status === 'placed') {
        await world.service.cancel(placed.body.orderId, 'user:c1', 'customer', 'changed my mind');
        await settle(world);
        expect(await statusOf(world, placed.body.orderId)).toBe('cancelled');
        expect((await world.held()).units).toBe(0);
      } else {
        // The checkout was quicker: the shopper can still cancel a confirmed order.
        expect(state.state.status).toBe('confirmed');
      }
    }, 60_000);

    it('a checkout stopped at any step boundary, or just after its holds, resumes without reserving twice', async () => {
      const w = await openCheckoutWorld({ kind }, {}, false);
      try {
        await w.stock('BOLT', 1_000);
        await w.stock('NUT', 1_000);
        await w.stock('RARE', 1);
        class Crash extends Error {}
        // Where a crash can land: the k-th boundary, or right after the order's holds are made
        // (before the saga has stored them). Every other order asks for too much RARE (the failure
        // path: nothing is held, all or nothing).
        const seen = new Map<string, number>();
        for (let k = 0; k < 8; k += 1) {
          for (const where of ['boundary', 'after-hold'] as const) {
            const failing = k % 2 === 1;
            const placed = await w.service.place({
              ...shopper(k),
              siteId: w.site,
              lines: [
                { sku: 'BOLT', quantity: 2 },
                { sku: 'NUT', quantity: 1 },
                ...(failing ? [{ sku: 'RARE', quantity: 5 }] : []),
              ],
            });
            let passed = 0;
            const stock = {
              reserveAll: async (input: Parameters<typeof w.reservations.reserveAll>[0]) => {
                const holds = await w.reservations.reserveAll(input);
                if (where === 'after-hold') throw new Crash('after the holds');
                return holds;
              },
              release: (id: string) => w.reservations.release(id),
              commit: (ids: readonly string[]) => w.reservations.commit(ids),
            };
            const steps = checkoutSteps({ store: w.store, stock, holdSeconds: 900 });
            const first = new CheckoutRunner({
              database: w.database,
              store: w.store,
              steps,
              leaseMs: 100,
              onBoundary: () => {
                if (where === 'boundary' && passed++ === k) throw new Crash('at boundary');
              },
            });
            await first.drive(placed.body.orderId).catch((error: unknown) => {
              if (!(error instanceof Crash)) throw error;
            });
            await new Promise((r) => setTimeout(r, 150));
            const second = new CheckoutRunner({
              database: w.database,
              store: w.store,
              steps: checkoutSteps({ store: w.store, stock: w.reservations, holdSeconds: 900 }),
            });
            await second.drive(placed.body.orderId);
            const status = await statusOf(w, placed.body.orderId);
            expect(status).toBe(failing ? 'rejected' : 'confirmed');
            seen.set(status, (seen.get(status) ?? 0) + 1);
          }
        }
        expect(seen.get('confirmed')).toBe(8);
        expect(seen.get('rejected')).toBe(8);
        const held = await w.held();
        // Confirmed: 8 orders of 2 BOLT + 1 NUT; rejected ones hold nothing.
        expect(held.units).toBe(8 * 3);
        const references = held.rows.map((r) => r.reference);
        expect(new Set(references).size).toBe(references.length);
      } finally {
        await w.close();
      }
    }, 120_000);
  });
}
