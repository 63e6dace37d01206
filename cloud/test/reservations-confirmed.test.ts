import { serverAvailable } from '@bitv/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cloudDb } from '../src/db/index.js';
import { reservedUnits } from '../src/inventory/reservations.js';
import { loadOrder } from '../src/orders/stream.js';
import { type CheckoutWorld, type Kind, openCheckoutWorld } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

const farFuture = new Date('2100-01-01T00:00:00Z');

async function confirmedOrder(world: CheckoutWorld, sku: string, quantity: number): Promise<string> {
  const placed = await world.service.place({
    customerId: 'c1',
    caller: 'user:c1',
    by: 'user:c1',
    siteId: world.site,
    lines: [{ sku, quantity }],
  });
  await world.runner.resumeDue();
  await world.runner.drained();
  expect((await loadOrder(world.store, placed.body.orderId)).state.status).toBe('confirmed');
  return placed.body.orderId;
}

async function statuses(world: CheckoutWorld): Promise<Record<string, string>> {
  const { rows } = await world.held();
  return Object.fromEntries(rows.map((r) => [r.reference, r.status]));
}

for (const kind of kinds) {
  describe(`confirmed holds on ${kind}`, () => {
    let world: CheckoutWorld;
    beforeEach(async () => {
      world = await openCheckoutWorld({ kind });
    }, 60_000);
    afterEach(async () => {
      await world.close();
    });

    it('survive the expiry sweep while an unconfirmed hold lapses', async () => {
      await world.stock('BOLT', 10);
      const orderId = await confirmedOrder(world, 'BOLT', 3);
      await world.reservations.reserve({ sku: 'BOLT', quantity: 2, reference: 'cart-1', ttlSeconds: 60 });
      expect(await reservedUnits(cloudDb(world.database), 'BOLT')).toBe(5);

      expect(await world.reservations.expireReservations(farFuture)).toBe(1);

      expect(await statuses(world)).toEqual({ [`order:${orderId}:1`]: 'committed', 'cart-1': 'expired' });
      // Counted as held even past its own expiry time: only cancel or pick ends it.
      expect(await reservedUnits(cloudDb(world.database), 'BOLT')).toBe(3);
      expect((await world.held('BOLT')).units).toBe(3);
    }, 60_000);

    it('are released when the order is cancelled', async () => {
      await world.stock('BOLT', 10);
      const orderId = await confirmedOrder(world, 'BOLT', 3);
      await world.service.cancel(orderId, 'user:c1', 'customer', 'changed my mind');
      expect(await statuses(world)).toEqual({ [`order:${orderId}:1`]: 'released' });
      expect(await reservedUnits(cloudDb(world.database), 'BOLT')).toBe(0);
    }, 60_000);

    it('are consumed when picked, once, and a consumed hold is never released or committed again', async () => {
      await world.stock('BOLT', 10);
      const orderId = await confirmedOrder(world, 'BOLT', 3);
      const { state } = await loadOrder(world.store, orderId);
      if (state.status === 'none') throw new Error('order not found');
      const ids = state.reservations.map((r) => r.reservationId);
      expect(await world.reservations.consume(ids)).toHaveLength(1);
      expect(await world.reservations.consume(ids)).toHaveLength(0);
      expect(await world.reservations.commit(ids)).toHaveLength(0);
      const [id] = ids;
      if (!id) throw new Error('no hold');
      expect((await world.reservations.release(id)).status).toBe('consumed');
      expect(await reservedUnits(cloudDb(world.database), 'BOLT')).toBe(0);
    }, 60_000);
  });
}
