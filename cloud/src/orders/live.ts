import type { Projection } from '@bitv/shared/event-store';
import type { Counter } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import type { LiveHub } from '../live/hub.js';
import { orderEventTypes, orderType } from './model.js';
import { orderViewProjection, statusAfter } from './projections.js';
import { asOrderEvent } from './stream.js';

/**
 * Sends a live `order` message for each order event. It follows `orders.view` (never applied
 * past that projection's checkpoint), so the view always holds the order it addresses and a
 * client that reloads on the message reads the view as of that event. Delivery is at least
 * once: a batch retried after an error sends its messages again, harmless since each names the
 * status it reached.
 *
 * A fresh checkpoint would replay every order ever placed: events recorded before `since` (the
 * module's start, less a margin) are history, not news, and are skipped and counted.
 */
export function orderLiveProjection(deps: {
  hub: LiveHub;
  since: Date;
  skipped: Counter<'reason'>;
}): Projection {
  const since = deps.since.getTime();
  return {
    name: 'orders.live',
    types: orderEventTypes,
    follows: orderViewProjection.name,
    async applyBatch(tx, events) {
      const fresh = events.filter((e) => e.recordedAt.getTime() >= since);
      if (fresh.length < events.length) deps.skipped.inc({ reason: 'history' }, events.length - fresh.length);
      if (fresh.length === 0) return;
      const ids = [...new Set(fresh.map((e) => asOrderEvent(e).data.orderId))];
      const { rows } = await sql<{ order_id: string; site_id: string; customer_id: string }>`
        SELECT order_id, site_id, customer_id FROM order_view WHERE order_id = ANY(${ids}::text[])`.execute(
        tx.sql,
      );
      const owners = new Map(rows.map((r) => [r.order_id, r]));
      for (const e of fresh) {
        const orderId = asOrderEvent(e).data.orderId;
        const owner = owners.get(orderId);
        // Not expected, the view being at least this far: counted, not thrown, so one odd event
        // cannot stall every live message behind it.
        if (!owner) {
          deps.skipped.inc({ reason: 'not_in_view' });
          continue;
        }
        deps.hub.publish({
          type: 'order',
          siteId: owner.site_id,
          customerId: owner.customer_id,
          orderId,
          status: e.type === orderType.placed ? 'placed' : (statusAfter[e.type] ?? 'unknown'),
          event: e.type,
          version: e.version,
          at: e.recordedAt.toISOString(),
        });
      }
    },
  };
}
