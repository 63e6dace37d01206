import type { BvEvent } from '@bitv/shared/events';
import { z } from 'zod';

/** Orders' topic (their module defines its events; fulfilment reads only what it needs). */
export const ordersTopic = 'bv.orders';
export const orderConfirmedType = 'bv.order.confirmed.v1';

/**
 * The part of `bv.order.confirmed.v1` a pick list needs, checked at fulfilment's border: the
 * order, its site, and its lines of SKU and quantity. Other fields are the orders module's.
 */
const orderConfirmed = z.object({
  orderId: z.string().min(1).max(128),
  siteId: z.string().min(1).max(128),
  lines: z
    .array(
      z.object({ sku: z.string().min(1).max(128), quantity: z.number().int().positive().max(1_000_000) }),
    )
    .min(1)
    .max(500),
});

export type OrderConfirmed = z.infer<typeof orderConfirmed>;

/** The confirmed order an event carries; undefined for other types; throws for a malformed one. */
export function confirmedOrderOf(event: BvEvent): OrderConfirmed | undefined {
  if (event.type !== orderConfirmedType) return undefined;
  const parsed = orderConfirmed.safeParse(event.data);
  if (!parsed.success)
    throw new MalformedOrderError(`${event.type} ${event.id}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export class MalformedOrderError extends Error {}
