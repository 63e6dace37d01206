import type { EventStoreTransaction, Projection, StoredEvent } from '@bitv/shared/event-store';
import { sql } from 'kysely';
import { orderEventTypes, orderType } from './model.js';
import { asOrderEvent } from './stream.js';

/**
 * The order read models, each a plain function of the `bv.order.*` events, kept by the event
 * store's projection runner (rows and checkpoint in one transaction, rebuildable from zero):
 * - `orders.view`: one row per order (detail, by customer, by site and status) and its timeline;
 * - `orders.sales`: confirmed orders and units per day and site.
 */
export const orderViewProjection: Projection = {
  name: 'orders.view',
  types: orderEventTypes,
  async apply(tx, stored) {
    await applyToView(tx, stored);
  },
  async reset(tx) {
    await sql`DELETE FROM order_timeline`.execute(tx.sql);
    await sql`DELETE FROM order_view`.execute(tx.sql);
  },
};

export const orderSalesProjection: Projection = {
  name: 'orders.sales',
  types: [orderType.confirmed],
  async apply(tx, stored) {
    const event = asOrderEvent(stored);
    if (event.type !== orderType.confirmed) return;
    const units = event.data.lines.reduce((n, l) => n + l.quantity, 0);
    const day = event.data.confirmedAt.slice(0, 10);
    await sql`INSERT INTO order_sales_daily (day, site_id, orders, units)
      VALUES (${day}::date, ${event.data.siteId}, 1, ${units})
      ON CONFLICT (day, site_id) DO UPDATE SET orders = order_sales_daily.orders + 1,
        units = order_sales_daily.units + excluded.units`.execute(tx.sql);
  },
  async reset(tx) {
    await sql`DELETE FROM order_sales_daily`.execute(tx.sql);
  },
};

export const orderProjections: readonly Projection[] = [orderViewProjection, orderSalesProjection];

async function applyToView(tx: EventStoreTransaction, stored: StoredEvent): Promise<void> {
  const event = asOrderEvent(stored);
  const orderId = event.data.orderId;
  const at = stored.recordedAt;
  await sql`INSERT INTO order_timeline (order_id, version, type, data, recorded_at)
    VALUES (${orderId}, ${stored.version}, ${stored.type}, ${JSON.stringify(stored.data)}::jsonb, ${at})
    ON CONFLICT (order_id, version) DO NOTHING`.execute(tx.sql);
  if (event.type === orderType.placed) {
    const d = event.data;
    const units = d.lines.reduce((n, l) => n + l.quantity, 0);
    await sql`INSERT INTO order_view (order_id, site_id, customer_id, status, lines, units, version, placed_at, updated_at)
      VALUES (${orderId}, ${d.siteId}, ${d.customerId}, 'placed', ${JSON.stringify(d.lines)}::jsonb, ${units},
        ${stored.version}, ${d.placedAt}::timestamptz, ${at})
      ON CONFLICT (order_id) DO NOTHING`.execute(tx.sql);
    return;
  }
  const status = statusAfter[event.type];
  const rejection =
    event.type === orderType.rejected
      ? JSON.stringify({
          code: event.data.code,
          reason: event.data.reason,
          lineId: event.data.lineId ?? null,
        })
      : null;
  await sql`UPDATE order_view SET status = ${status}, version = ${stored.version}, updated_at = ${at},
      rejection = COALESCE(${rejection}::jsonb, rejection)
    WHERE order_id = ${orderId} AND version < ${stored.version}`.execute(tx.sql);
}

export const statusAfter: Record<string, string> = {
  [orderType.reserved]: 'reserved',
  [orderType.rejected]: 'rejected',
  [orderType.confirmed]: 'confirmed',
  [orderType.picking]: 'picking',
  [orderType.picked]: 'picked',
  [orderType.packed]: 'packed',
  [orderType.shipped]: 'shipped',
  [orderType.cancelled]: 'cancelled',
  [orderType.returned]: 'returned',
};
