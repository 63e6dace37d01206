import { fileURLToPath } from 'node:url';
import { describeFeature, loadFeature } from '@amiceli/vitest-cucumber';
import { topics } from '@bitv/shared/events';
import { eventually, serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { describe, expect, vi } from 'vitest';
import { cloudDb } from '../src/db/index.js';
import { reservedUnits } from '../src/inventory/reservations.js';
import { loadOrder } from '../src/orders/stream.js';
import { readingsEvent, startTestCloud, steadyReadings, type TestCloud } from './harness.js';
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
            // The lines are held together or not at all: the one with enough stock was never held.
            expect(await world.held()).toEqual({ units: 0, rows: [] });
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

// The scenarios in features/picking.feature, on the whole cloud (startTestCloud: every module,
// the database event log): placing through the REST API, fulfilment's pick list, counting from
// the shelf's readings as an edge agent sends them, the order's status and the holds after.
// Each step is a test: a whole cloud starting (and the pick it waits for) on a loaded 2-core
// machine takes longer than the default 30 s.
vi.setConfig({ testTimeout: 180_000 });
const picking = await loadFeature(fileURLToPath(new URL('../features/picking.feature', import.meta.url)));

for (const kind of kinds) {
  describe(`on the whole cloud, ${kind}`, () => {
    describeFeature(picking, ({ Background, Scenario, AfterEachScenario }) => {
      let t: TestCloud;
      let token: string;
      let orderId: string | undefined;
      let seq = 1;
      let nextReadingMs = 0;
      const shelfId = 'shelf-PF1';
      const tareG = 100;
      /** Bin, unit weight and count now of each SKU on the shelf. */
      const bins = new Map<string, { bin: number; unitWeightG: number; count: number }>();

      AfterEachScenario(async () => {
        await t?.close();
      });

      const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
        const send = () =>
          fetch(`${t.cloud.url}${path}`, {
            ...init,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              ...init.headers,
            },
            signal: AbortSignal.timeout(20_000),
          });
        // A GET once more on a reset: a kept-alive socket the server closed just as it was reused.
        const res = await send().catch((error: unknown) => {
          if ((init.method ?? 'GET') !== 'GET') throw error;
          return send();
        });
        const body = (await res.json()) as T;
        if (!res.ok)
          throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
        return body;
      };
      const statusOf = async () =>
        (await api<{ order: { status: string } }>(`/api/v1/orders/${orderId as string}`)).order.status;
      const pickOf = async () =>
        (
          await api<{
            picks: { orderId: string; status: string; lines: { sku: string; bin: number | null }[] }[];
          }>('/api/v1/picks?siteId=demo-site')
        ).picks.find((p) => p.orderId === orderId);
      /** What the shelf weighs, settled: readings of every bin, as the agent sends them. */
      const weigh = async () => {
        const weights = [...bins.values()]
          .sort((a, b) => a.bin - b.bin)
          .map((b) => tareG + b.count * b.unitWeightG);
        // A shelf's clock only moves on: a weighing right after the last one (a fast checkout) starts
        // after its last reading, or the counter takes the overlap for a replay and never settles.
        const start = Math.max(Date.now(), nextReadingMs);
        const readings = steadyReadings(seq, start, weights, 10);
        seq += readings.length;
        nextReadingMs = start + readings.length * 100;
        await t.eventLog.publish(topics.telemetry, readingsEvent('gw-demo-1', shelfId, readings));
      };

      Background(({ Given }) => {
        Given(
          'a running cloud with a shelf holding {int} {string} of {int} g and {int} {string} of {int} g',
          async (_, countA, skuA, weightA, countB, skuB, weightB) => {
            t = await startTestCloud(kind);
            token = await t.token('admin');
            orderId = undefined;
            bins.clear();
            bins.set(skuA, { bin: 0, unitWeightG: weightA, count: countA });
            bins.set(skuB, { bin: 1, unitWeightG: weightB, count: countB });
            await t.cloud.seedDemo({
              shelves: [
                {
                  serialNumber: 'PF1',
                  bins: [...bins].map(([sku, b]) => ({
                    sku,
                    unitWeightG: b.unitWeightG,
                    count: b.count,
                    tareG,
                  })),
                },
              ],
            });
            // The shelf reports what it holds: the counts agree with the seed, nothing changes.
            await weigh();
          },
        );
      });

      const order = async (customer: string, quantity: number, sku: string) => {
        const placed = await api<{ orderId: string }>('/api/v1/orders', {
          method: 'POST',
          headers: { 'idempotency-key': `feature-${customer}-${Date.now()}` },
          body: JSON.stringify({ siteId: 'demo-site', customerId: customer, lines: [{ sku, quantity }] }),
        });
        orderId = placed.orderId;
      };
      const confirmedAndLit = async (sku: string) => {
        await eventually(
          async () => (await pickOf())?.status === 'picking',
          'the pick list started',
          60_000,
          200,
        );
        await eventually(async () => (await statusOf()) === 'picking', 'the order picking', 60_000, 200);
        expect((await pickOf())?.lines.map((l) => [l.sku, l.bin])).toEqual([[sku, bins.get(sku)?.bin]]);
      };
      const stockIs = async (sku: string, onHand: number, reserved: number, available: number) => {
        await eventually(
          async () => {
            const held = await reservedUnits(cloudDb(t.database), sku);
            const bin = await t.cloud.services.inventory.bin(shelfId, bins.get(sku)?.bin as number);
            return bin.count === onHand && held === reserved && bin.count - held === available;
          },
          `${sku} at ${onHand} on hand, ${reserved} reserved`,
          60_000,
          200,
        );
      };
      const steps = {
        order: 'shopper {string} orders {int} {string}',
        lit: 'the order is confirmed and its pick list lights the {string} bin',
        stock: '{string} has {int} on hand, {int} reserved and {int} available',
      };

      Scenario('A confirmed order is picked by weight and the stock goes down', ({ When, Then, And }) => {
        When(steps.order, (_, customer, quantity, sku) => order(customer, quantity, sku));
        Then(steps.lit, (_, sku) => confirmedAndLit(sku));
        When('the shelf weighs {int} {string} fewer', async (_, units, sku) => {
          const b = bins.get(sku) as { count: number };
          b.count -= units;
          await weigh();
        });
        Then('the order is picked', async () => {
          await eventually(async () => (await statusOf()) === 'picked', 'the order picked', 60_000, 200);
          expect((await pickOf())?.status).toBe('picked');
        });
        And(steps.stock, (_, sku, onHand, reserved, available) => stockIs(sku, onHand, reserved, available));
      });

      Scenario(
        'A confirmed order that staff cancel before it is picked gives its stock back',
        ({ When, Then, And }) => {
          When(steps.order, (_, customer, quantity, sku) => order(customer, quantity, sku));
          Then(steps.lit, (_, sku) => confirmedAndLit(sku));
          When('staff cancel the order', async () => {
            await api(`/api/v1/orders/${orderId as string}/cancel`, {
              method: 'POST',
              body: JSON.stringify({ reason: 'shopper called' }),
            });
          });
          Then('the order is cancelled and its pick list is cancelled', async () => {
            await eventually(
              async () => (await statusOf()) === 'cancelled',
              'the order cancelled',
              60_000,
              200,
            );
            await eventually(
              async () => (await pickOf())?.status === 'cancelled',
              'the pick list cancelled',
              60_000,
              200,
            );
          });
          And(steps.stock, (_, sku, onHand, reserved, available) =>
            stockIs(sku, onHand, reserved, available),
          );
        },
      );
    });
  });
}
