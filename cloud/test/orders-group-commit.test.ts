import { ValidationError } from '@bitv/shared';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyMismatchError } from '../src/orders/service.js';
import { loadOrder } from '../src/orders/stream.js';
import { type CheckoutWorld, type Kind, openCheckoutWorld } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

const shopper = (n: number) => ({ customerId: `c${n}`, caller: `user:c${n}`, by: `user:c${n}` });

/**
 * Group commit: placements sent at once share a transaction, yet each gets its own answer. One
 * burst holds good orders, an unknown SKU, a key used twice with one body and a key used twice
 * with two bodies: the bad ones fail alone and the good ones are all written, exactly once.
 */
for (const kind of kinds) {
  describe(`placing in groups on ${kind}`, () => {
    let world: CheckoutWorld;
    beforeAll(async () => {
      // No checkout kicks: only what placing writes is looked at.
      world = await openCheckoutWorld({ kind }, {}, false);
      await world.stock('BOLT', 100);
    }, 300_000);
    afterAll(async () => {
      await world?.close();
    });

    it('answers each placement of a burst on its own: good ones written once, bad ones refused alone', async () => {
      const line = (quantity: number) => [{ sku: 'BOLT', quantity }];
      const burst = [
        ...Array.from({ length: 12 }, (_, i) =>
          world.service.place({ ...shopper(i), siteId: world.site, lines: line(1), idempotencyKey: `k${i}` }),
        ),
        world.service.place({ ...shopper(20), siteId: world.site, lines: [{ sku: 'NOPE', quantity: 1 }] }),
        world.service.place({ ...shopper(21), siteId: world.site, lines: line(2), idempotencyKey: 'same' }),
        world.service.place({ ...shopper(21), siteId: world.site, lines: line(2), idempotencyKey: 'same' }),
        world.service.place({ ...shopper(22), siteId: world.site, lines: line(2), idempotencyKey: 'clash' }),
        world.service.place({ ...shopper(22), siteId: world.site, lines: line(3), idempotencyKey: 'clash' }),
      ];
      const settled = await Promise.allSettled(burst);
      const value = (i: number) =>
        (
          settled[i] as PromiseFulfilledResult<{
            status: number;
            body: { orderId: string };
            replayed: boolean;
          }>
        ).value;
      for (let i = 0; i < 12; i++) expect(value(i)).toMatchObject({ status: 201, replayed: false });
      expect((settled[12] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      // Same key, same body: one order, the other answer is its replay.
      expect(value(13).body.orderId).toBe(value(14).body.orderId);
      expect([value(13).replayed, value(14).replayed].sort()).toEqual([false, true]);
      // Same key, two bodies: the first written, the second refused (422 at the API).
      expect(value(15).status).toBe(201);
      expect((settled[16] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyMismatchError);

      const ids = [
        ...Array.from({ length: 12 }, (_, i) => value(i).body.orderId),
        value(13).body.orderId,
        value(15).body.orderId,
      ];
      expect(new Set(ids).size).toBe(14);
      for (const id of ids) {
        const order = await loadOrder(world.store, id);
        expect(order.events.map((e) => e.type)).toEqual(['bv.order.placed.v1']);
      }
      const db = world.database.kysely;
      const count = async (q: ReturnType<typeof sql<{ n: number }>>) =>
        Number((await q.execute(db)).rows[0]?.n);
      expect(await count(sql<{ n: number }>`SELECT count(*)::int AS n FROM checkout_sagas`)).toBe(14);
      expect(await count(sql<{ n: number }>`SELECT count(*)::int AS n FROM order_idempotency`)).toBe(14);
      expect(
        await count(
          sql<{ n: number }>`SELECT count(*)::int AS n FROM bv_es_outbox WHERE topic = 'bv.orders'`,
        ),
      ).toBe(14);
      // A retry after the burst is a replay, not a second order.
      const again = await world.service.place({
        ...shopper(3),
        siteId: world.site,
        lines: line(1),
        idempotencyKey: 'k3',
      });
      expect(again).toMatchObject({ replayed: true, body: { orderId: value(3).body.orderId } });
    }, 120_000);
  });
}
