import { fileURLToPath } from 'node:url';
import { describeFeature, loadFeature } from '@amiceli/vitest-cucumber';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { describe, expect } from 'vitest';
import { cloudDb } from '../src/db/index.js';
import { reservedUnits } from '../src/inventory/reservations.js';
import { loadOrder } from '../src/orders/stream.js';
import { type CheckoutWorld, type Kind, openCheckoutWorld } from './orders-fixture.js';

// The scenarios in features/checkout.feature, run against the real orders, checkout saga and
// reservations (no HTTP, no fulfilment): what a shopper sees of checkout, in the business's words.
const feature = await loadFeature(fileURLToPath(new URL('../features/checkout.feature', import.meta.url)));

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

const farFuture = new Date('2100-01-01T00:00:00Z');

for (const kind of kinds) {
  describe(`on ${kind}`, () => {
    describeFeature(feature, ({ Background, Scenario, AfterEachScenario }) => {
      let world: CheckoutWorld;
      /** The orders the scenario placed, in order. */
      let orders: string[];
      /** Why placing was refused, if it was. */
      let refusal: unknown;

      AfterEachScenario(async () => {
        await world.close();
      });

      async function place(customer: string, lines: { sku: string; quantity: number }[]): Promise<string> {
        const placed = await world.service.place({
          customerId: customer,
          caller: `user:${customer}`,
          by: `user:${customer}`,
          siteId: world.site,
          lines,
        });
        orders.push(placed.body.orderId);
        return placed.body.orderId;
      }

      async function order(customer: string, lines: { sku: string; quantity: number }[]): Promise<void> {
        try {
          await world.runner.drive(await place(customer, lines));
        } catch (error) {
          refusal = error;
        }
      }

      async function stateOf(orderId: string | undefined) {
        if (!orderId) throw new Error('the scenario placed no order');
        return (await loadOrder(world.store, orderId)).state;
      }

      async function stockOf(sku: string) {
        const { rows } = await sql<{ n: number }>`
          SELECT coalesce(sum(count), 0)::int AS n FROM bins WHERE sku = ${sku}`.execute(
          world.database.kysely,
        );
        const onHand = rows[0]?.n ?? 0;
        const reserved = await reservedUnits(cloudDb(world.database), sku);
        return { onHand, reserved, available: onHand - reserved };
      }

      // The Background runs before the scenario hooks (vitest-cucumber 7), so it opens the world.
      Background(({ Given, And }) => {
        Given('a site whose warehouse has no orders yet', async () => {
          // No kick on place: a step drives the checkouts, so a race is a race of the saga itself.
          world = await openCheckoutWorld({ kind }, {}, false);
          orders = [];
          refusal = undefined;
        });
        And("the site's shelves hold {int} {string} and {int} {string}", async (_, a, skuA, b, skuB) => {
          await world.stock(skuA, a);
          await world.stock(skuB, b);
        });
      });

      Scenario(
        'An order is reserved and confirmed, and what it holds is no longer available',
        ({ When, Then, And }) => {
          When('shopper {string} orders {int} {string}', async (_, customer, quantity, sku) => {
            await order(customer, [{ sku, quantity }]);
            expect(refusal).toBeUndefined();
          });
          Then('the order is placed, reserved and confirmed, in that order', async () => {
            const loaded = await loadOrder(world.store, orders[0] as string);
            expect(loaded.events.map((e) => e.type)).toEqual([
              'bv.order.placed.v1',
              'bv.order.reserved.v1',
              'bv.order.confirmed.v1',
            ]);
          });
          And(
            '{string} has {int} on hand, {int} reserved and {int} available',
            async (_, sku, onHand, reserved, available) => {
              expect(await stockOf(sku)).toEqual({ onHand, reserved, available });
            },
          );
          And(
            'the confirmed order still holds {int} {string} after every hold time has passed',
            async (_, quantity, sku) => {
              await world.reservations.expireReservations(farFuture);
              expect((await stateOf(orders[0])).status).toBe('confirmed');
              expect((await stockOf(sku)).reserved).toBe(quantity);
            },
          );
        },
      );

      Scenario(
        'An order for more than is on the shelves is rejected and holds nothing',
        ({ When, Then, And }) => {
          When(
            'shopper {string} orders {int} {string} and {int} {string}',
            async (_, customer, a, skuA, b, skuB) => {
              await order(customer, [
                { sku: skuA, quantity: a },
                { sku: skuB, quantity: b },
              ]);
            },
          );
          Then('the order is rejected as {string}', async (_, code) => {
            expect(await stateOf(orders[0])).toMatchObject({ status: 'rejected', rejection: { code } });
          });
          And('nothing is reserved', async () => {
            const held = await world.held();
            expect(held.units).toBe(0);
            // The line that was held first was released once, by the compensation.
            expect(held.rows.map((r) => r.status)).toEqual(['released']);
          });
          And(
            '{string} has {int} on hand, {int} reserved and {int} available',
            async (_, sku, onHand, reserved, available) => {
              expect(await stockOf(sku)).toEqual({ onHand, reserved, available });
            },
          );
        },
      );

      Scenario('An order for an unknown SKU is refused before anything is written', ({ When, Then, And }) => {
        When('shopper {string} orders {int} {string}', async (_, customer, quantity, sku) => {
          await order(customer, [{ sku, quantity }]);
        });
        Then('the order is refused with {string}', (_, message) => {
          expect(orders).toEqual([]);
          expect(refusal).toBeInstanceOf(Error);
          expect((refusal as Error).message).toContain(message);
        });
        And('nothing is reserved', async () => {
          expect((await world.held()).rows).toEqual([]);
        });
        And('no order event is stored', async () => {
          expect(await world.store.head()).toBe(0n);
        });
      });

      Scenario('Two shoppers race for the last item and exactly one wins', ({ Given, When, Then, And }) => {
        Given("the site's shelves also hold {int} {string}", async (_, count, sku) => {
          await world.stock(sku, count);
        });
        When(
          'shoppers {string} and {string} each order {int} {string} at the same moment',
          async (_, first, second, quantity, sku) => {
            const ids = await Promise.all([first, second].map((c) => place(c, [{ sku, quantity }])));
            await Promise.all(ids.map((id) => world.runner.drive(id)));
          },
        );
        Then('one order is confirmed and the other is rejected as {string}', async (_, code) => {
          const states = await Promise.all(orders.map((id) => stateOf(id)));
          expect(states.map((s) => s.status).sort()).toEqual(['confirmed', 'rejected']);
          expect(states.find((s) => s.status === 'rejected')).toMatchObject({ rejection: { code } });
        });
        And(
          '{string} has {int} on hand, {int} reserved and {int} available',
          async (_, sku, onHand, reserved, available) => {
            expect(await stockOf(sku)).toEqual({ onHand, reserved, available });
          },
        );
      });
    });
  });
}
