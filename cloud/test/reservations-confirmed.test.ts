import { setTimeout as delay } from 'node:timers/promises';
import { createEvent, pickCompletedV1, pickStartedV1, topics } from '@bitv/shared/events';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cloudDb } from '../src/db/index.js';
import { reservedUnits } from '../src/inventory/reservations.js';
import { loadOrder } from '../src/orders/stream.js';
import { json, startTestCloud } from './harness.js';
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

describe('a picked order on a running cloud', () => {
  it('has its committed holds consumed by the orders module when bv.fulfilment says it is picked', async () => {
    // Without fulfilment: the test plays its pick events, so nothing else picks the order.
    const t = await startTestCloud('pglite', { modules: ['registry', 'inventory', 'orders'] });
    try {
      await t.cloud.seedDemo({
        siteId: 'site-1',
        gatewayId: 'gw-1',
        shelves: [{ serialNumber: 'RC-1', bins: [{ sku: 'RC-BOLT', unitWeightG: 10, count: 5 }] }],
      });
      const token = await t.token('partner');
      const response = await fetch(`${t.cloud.url}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ siteId: 'site-1', lines: [{ sku: 'RC-BOLT', quantity: 2 }] }),
      });
      expect(response.status).toBe(201);
      const orderId = (await json(response)).orderId as string;
      const holdStatus = async () => {
        const { rows } = await sql<{ status: string }>`
          SELECT status FROM reservations WHERE reference = ${`order:${orderId}:1`}`.execute(
          t.database.kysely,
        );
        return rows[0]?.status;
      };
      await until('the hold committed', async () => (await holdStatus()) === 'committed');
      const source = 'test:reservations-confirmed';
      await t.eventLog.publish(topics.fulfilment, [
        createEvent(pickStartedV1, {
          source,
          key: orderId,
          data: { pickId: 'p1', orderId, siteId: 'site-1' },
        }),
        createEvent(pickCompletedV1, {
          source,
          key: orderId,
          data: {
            pickId: 'p1',
            orderId,
            siteId: 'site-1',
            lines: [{ sku: 'RC-BOLT', quantity: 2 }],
            completedAt: new Date().toISOString(),
          },
        }),
      ]);
      await until('the hold consumed', async () => (await holdStatus()) === 'consumed');
      expect(await reservedUnits(cloudDb(t.database), 'RC-BOLT')).toBe(0);
    } finally {
      await t.close();
    }
  }, 180_000);
});

async function until(what: string, probe: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}
