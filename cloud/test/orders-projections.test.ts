import { startProjections } from '@bitv/shared/event-store';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { orderProjections } from '../src/orders/projections.js';
import { OrderReadModels } from '../src/orders/read-models.js';
import { loadOrder } from '../src/orders/stream.js';
import { type Kind, openCheckoutWorld } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

for (const kind of kinds) {
  describe(`order read models on ${kind}`, () => {
    it('equal a fold of the streams, live and rebuilt from zero', async () => {
      const world = await openCheckoutWorld({ kind });
      try {
        await world.stock('A', 6);
        const ids: string[] = [];
        for (let i = 0; i < 8; i++) {
          const placed = await world.service.place({
            customerId: `c${i % 3}`,
            caller: `user:c${i % 3}`,
            by: `user:c${i % 3}`,
            siteId: world.site,
            lines: [{ sku: 'A', quantity: 1 + (i % 2) }],
          });
          ids.push(placed.body.orderId);
        }
        await world.runner.resumeDue();
        await world.runner.drained();
        await world.service.cancel(ids[0] as string, 'user:c0', 'customer', 'changed my mind');
        const runner = await startProjections({
          store: world.store,
          database: world.database,
          projections: orderProjections,
          follow: false,
        });
        const reads = new OrderReadModels(world.database);
        const snapshot = async () => ({
          orders: (await reads.list({ limit: 200 }))
            .map((o) => [o.orderId, o.status, o.units, o.version])
            .sort(),
          timelines: await Promise.all(ids.map(async (id) => (await reads.timeline(id)).map((e) => e.type))),
          sales: (await reads.sales({})).map((d) => [d.day, d.orders, d.units]),
        });
        try {
          await runner.catchUp();
          const live = await snapshot();
          const folded = await Promise.all(
            ids.map(async (id) => {
              const o = await loadOrder(world.store, id);
              if (o.state.status === 'none') throw new Error(`order ${id} has no events`);
              const units = o.state.lines.reduce((n, l) => n + l.quantity, 0);
              return {
                id,
                status: o.state.status,
                units,
                types: o.events.map((e) => e.type),
                version: o.version,
              };
            }),
          );
          expect(live.orders).toEqual(folded.map((f) => [f.id, f.status, f.units, f.version]).sort());
          expect(live.timelines).toEqual(folded.map((f) => f.types));
          const confirmedUnits = (
            await Promise.all(
              ids.map(async (id) => {
                const o = await loadOrder(world.store, id);
                const confirmed = o.events.some((e) => e.type === 'bv.order.confirmed.v1');
                return confirmed && o.state.status !== 'none' ? (o.state.lines[0]?.quantity ?? 0) : 0;
              }),
            )
          ).reduce((a, b) => a + b, 0);
          expect(live.sales.reduce((n, d) => n + Number(d[2]), 0)).toBe(confirmedUnits);
          await runner.rebuild('orders.view');
          await runner.rebuild('orders.sales');
          expect(await snapshot()).toEqual(live);
          const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM order_view`.execute(
            world.database.kysely,
          );
          expect(rows[0]?.n).toBe(8);
        } finally {
          await runner.close();
        }
      } finally {
        await world.close();
      }
    }, 180_000);
  });
}
