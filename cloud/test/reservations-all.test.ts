import { ConflictError, NotFoundError } from '@bitv/shared';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CheckoutWorld, type Kind, openCheckoutWorld } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

async function outboxRows(world: CheckoutWorld): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM bv_es_outbox
    WHERE topic = 'bv.inventory'`.execute(world.database.kysely);
  return rows[0]?.n ?? 0;
}

for (const kind of kinds) {
  describe(`reserveAll on ${kind}`, () => {
    let world: CheckoutWorld;
    beforeEach(async () => {
      world = await openCheckoutWorld({ kind }, {}, false);
      await world.stock('BOLT', 10);
      await world.stock('NUT', 3);
    }, 60_000);
    afterEach(async () => {
      await world.close();
    });

    it('holds every request in order, once: a retry gets the same holds and queues no events', async () => {
      const input = {
        holds: [
          { sku: 'NUT', quantity: 3, reference: 'o1:1' },
          { sku: 'BOLT', quantity: 4, reference: 'o1:2' },
        ],
        ttlSeconds: 60,
      };
      const first = await world.reservations.reserveAll(input);
      expect(first.map((r) => [r.reference, r.sku, r.quantity, r.status])).toEqual([
        ['o1:1', 'NUT', 3, 'active'],
        ['o1:2', 'BOLT', 4, 'active'],
      ]);
      const events = await outboxRows(world);
      expect(events).toBe(2);
      const again = await world.reservations.reserveAll(input);
      expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
      expect(await outboxRows(world)).toBe(events);
      expect((await world.held()).units).toBe(7);
    }, 60_000);

    it('holds nothing when one request is short, and names it', async () => {
      await world.reservations.reserve({ sku: 'NUT', quantity: 2, reference: 'cart', ttlSeconds: 60 });
      const error = await world.reservations
        .reserveAll({
          holds: [
            { sku: 'BOLT', quantity: 4, reference: 'o2:1' },
            { sku: 'NUT', quantity: 2, reference: 'o2:2' },
          ],
          ttlSeconds: 60,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).message).toBe('only 1 of NUT available, 2 asked');
      expect((error as ConflictError).details).toMatchObject({ reference: 'o2:2', available: 1 });
      expect((await world.held()).rows.map((r) => r.reference)).toEqual(['cart']);
    }, 60_000);

    it('holds nothing for an unknown SKU, and names its request', async () => {
      const error = await world.reservations
        .reserveAll({
          holds: [
            { sku: 'BOLT', quantity: 1, reference: 'o3:1' },
            { sku: 'NOPE', quantity: 1, reference: 'o3:2' },
          ],
          ttlSeconds: 60,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).details).toMatchObject({ reference: 'o3:2' });
      expect((await world.held()).rows).toEqual([]);
    }, 60_000);

    it('refuses a reference that already holds something else, holding nothing new', async () => {
      await world.reservations.reserve({ sku: 'BOLT', quantity: 1, reference: 'o4:1', ttlSeconds: 60 });
      await expect(
        world.reservations.reserveAll({
          holds: [
            { sku: 'NUT', quantity: 1, reference: 'o4:2' },
            { sku: 'BOLT', quantity: 2, reference: 'o4:1' },
          ],
          ttlSeconds: 60,
        }),
      ).rejects.toThrow('reference o4:1 already reserves 1 of BOLT');
      expect((await world.held()).units).toBe(1);
    }, 60_000);

    it('keeps the earlier holds of a retry and adds only the missing ones', async () => {
      const earlier = await world.reservations.reserve({
        sku: 'BOLT',
        quantity: 2,
        reference: 'o5:1',
        ttlSeconds: 60,
      });
      const holds = await world.reservations.reserveAll({
        holds: [
          { sku: 'BOLT', quantity: 2, reference: 'o5:1' },
          { sku: 'BOLT', quantity: 8, reference: 'o5:2' },
        ],
        ttlSeconds: 60,
      });
      expect(holds[0]?.id).toBe(earlier.id);
      expect((await world.held('BOLT')).units).toBe(10);
    }, 60_000);

    it('never oversells when orders sharing SKUs race (locks taken in one order)', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          world.reservations.reserveAll({
            holds:
              i % 2 === 0
                ? [
                    { sku: 'BOLT', quantity: 1, reference: `r${i}:1` },
                    { sku: 'NUT', quantity: 1, reference: `r${i}:2` },
                  ]
                : [
                    { sku: 'NUT', quantity: 1, reference: `r${i}:1` },
                    { sku: 'BOLT', quantity: 1, reference: `r${i}:2` },
                  ],
            ttlSeconds: 60,
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      }
      expect((await world.held('NUT')).units).toBe(3);
      expect((await world.held('BOLT')).units).toBe(3);
    }, 60_000);
  });
}
