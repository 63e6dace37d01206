import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { createEventStore, type EventStore } from '@bitv/shared/event-store';
import { platformEvents } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { CheckoutRunner, type CheckoutRunnerOptions } from '../src/checkout/runner.js';
import { checkoutSteps } from '../src/checkout/steps.js';
import type { StockHolds } from '../src/checkout/stock.js';
import { cloudDb, migrateCloud } from '../src/db/index.js';
import { Reservations } from '../src/inventory/reservations.js';
import { migrateOrders } from '../src/orders/migrations.js';
import { OrderService } from '../src/orders/service.js';

export type Kind = 'pglite' | 'postgres';

/** Where a world's database lives, so another process (a crash test's child) can open it too. */
export interface WorldPlace {
  kind: Kind;
  /** PGlite data folder (absent: in memory). */
  dataDir?: string;
  /** PostgreSQL schema. */
  schema?: string;
}

export interface CheckoutWorld {
  database: Database;
  store: EventStore;
  eventLog: EventLog;
  reservations: Reservations;
  service: OrderService;
  runner: CheckoutRunner;
  site: string;
  /** A product with `count` units on a shelf of the site (another bin each call). */
  stock(sku: string, count: number): Promise<void>;
  /** Units of a SKU held by active or committed reservations, and the rows behind them. */
  held(
    sku?: string,
  ): Promise<{ units: number; rows: { reference: string; quantity: number; status: string }[] }>;
  close(options?: { drop?: boolean }): Promise<void>;
}

/**
 * Orders and checkout on a real database with inventory's real reservations (their stock
 * check and advisory lock are what keeps two shoppers off one unit), without an HTTP server.
 */
export async function openCheckoutWorld(
  place: WorldPlace,
  runner: Partial<Omit<CheckoutRunnerOptions, 'database' | 'store' | 'steps'>> = {},
  kickOnPlace = true,
  /** Wraps the stock port the checkout uses (a crash test fails right after a hold is made). */
  wrapStock: (stock: StockHolds) => StockHolds = (stock) => stock,
): Promise<CheckoutWorld> {
  const database =
    place.kind === 'pglite'
      ? await openDatabase(place.dataDir ? { dataDir: place.dataDir } : {})
      : await openDatabase({ url: postgresUrl(), schema: place.schema ?? uniqueName('orders'), poolSize: 6 });
  await migrateCloud(database);
  await migrateOrders(database);
  await CheckoutRunner.migrate(database);
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: createRegistry() });
  const store = await createEventStore(database);
  const reservations = new Reservations(cloudDb(database));
  const checkout = new CheckoutRunner({
    database,
    store,
    steps: checkoutSteps({ store, stock: wrapStock(reservations), holdSeconds: 900 }),
    leaseMs: 1_000,
    ...runner,
  });
  const service = new OrderService(
    database,
    store,
    {
      unknownSkus: async (skus) => {
        const { rows } = await sql<{ sku: string }>`SELECT sku FROM products`.execute(database.kysely);
        const known = new Set(rows.map((r) => r.sku));
        return skus.filter((s) => !known.has(s));
      },
      siteExists: async (id) => id === 'site-1',
    },
    kickOnPlace ? (id) => checkout.kick(id) : undefined,
    async (ids) => {
      for (const id of ids) await reservations.release(id);
    },
  );
  const db = database.kysely;
  await sql`INSERT INTO sites (id, name) VALUES ('site-1', 'Site 1') ON CONFLICT DO NOTHING`.execute(db);
  await sql`INSERT INTO gateways (id, site_id, name, status) VALUES ('gw-1', 'site-1', 'gw', 'active')
    ON CONFLICT DO NOTHING`.execute(db);
  await sql`INSERT INTO shelves (id, gateway_id, device_id, site_id, serial_number, bin_count)
    VALUES ('shelf-1', 'gw-1', 'shelf-1', 'site-1', 'S1', 255) ON CONFLICT DO NOTHING`.execute(db);
  return {
    database,
    store,
    eventLog,
    reservations,
    service,
    runner: checkout,
    site: 'site-1',
    async stock(sku, count) {
      await sql`INSERT INTO products (sku, name, unit_weight_g, tolerance_g) VALUES (${sku}, ${sku}, 10, 2)`.execute(
        db,
      );
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM bins`.execute(db);
      await sql`INSERT INTO bins (shelf_id, bin, sku, count) VALUES ('shelf-1', ${rows[0]?.n ?? 0}, ${sku}, ${count})`.execute(
        db,
      );
    },
    async held(sku) {
      const { rows } = await sql<{ reference: string; quantity: number; status: string }>`
        SELECT reference, quantity, status FROM reservations
        WHERE (${sku ?? null}::text IS NULL OR sku = ${sku ?? null})`.execute(db);
      return {
        units: rows
          .filter((r) => r.status === 'active' || r.status === 'committed')
          .reduce((n, r) => n + r.quantity, 0),
        rows,
      };
    },
    async close(options = {}) {
      await checkout.close();
      await eventLog.close();
      if (place.kind === 'postgres' && options.drop !== false) {
        const { rows } = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db);
        if (rows[0]) await dropSchema(database, rows[0].s);
      }
      await database.close();
    },
  };
}
