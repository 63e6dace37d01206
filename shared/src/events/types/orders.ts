import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);
const actor = z.string().min(1).max(200);

/** One line of an order: `lineId` is stable for the order's life (reservations and picks refer to it). */
export const orderLine = z.object({
  lineId: id,
  sku: z.string().min(1).max(64),
  quantity: z.number().int().positive().max(1_000_000),
});

/** Who an order belongs to and where it is filled: every order event carries it for routing and filters. */
const orderRef = {
  orderId: id,
  siteId: id,
  customerId: id,
};

export const orderPlacedV1 = defineEvent({
  type: 'bv.order.placed.v1',
  topic: topics.orders,
  description: 'A shopper (or staff on their behalf) placed an order; checkout reserves its lines next',
  schema: z.object({
    ...orderRef,
    lines: z.array(orderLine).min(1).max(100),
    placedBy: actor,
    placedAt: z.string().datetime({ offset: true }),
  }),
});

export const orderReservedV1 = defineEvent({
  type: 'bv.order.reserved.v1',
  topic: topics.orders,
  description: 'Every line of the order is reserved (all or nothing): the order can be confirmed',
  schema: z.object({
    ...orderRef,
    /** Reservation id per line (the reservation reference is `<orderId>:<lineId>`). */
    reservations: z.array(z.object({ lineId: id, reservationId: z.string().uuid() })).min(1),
  }),
});

export const orderRejectedV1 = defineEvent({
  type: 'bv.order.rejected.v1',
  topic: topics.orders,
  description: 'Checkout could not reserve every line; what it had reserved was released',
  schema: z.object({
    ...orderRef,
    /** Machine-readable cause: unknown_sku, insufficient_stock, invalid, ... */
    code: z.string().min(1).max(64),
    reason: z.string().min(1).max(500),
    /** The line that failed, when one did. */
    lineId: id.optional(),
  }),
});

export const orderConfirmedV1 = defineEvent({
  type: 'bv.order.confirmed.v1',
  topic: topics.orders,
  description: 'The order is confirmed: its stock is held until picked; fulfilment makes a pick list of it',
  schema: z.object({
    ...orderRef,
    lines: z.array(orderLine).min(1).max(100),
    confirmedAt: z.string().datetime({ offset: true }),
  }),
});

/** Status changes after confirmation (picking, picked, packed, shipped): one event type each. */
const progress = z.object({ ...orderRef, at: z.string().datetime({ offset: true }), by: actor });

export const orderPickingV1 = defineEvent({
  type: 'bv.order.picking.v1',
  topic: topics.orders,
  description: "The order's pick list was started at its site",
  schema: progress,
});

export const orderPickedV1 = defineEvent({
  type: 'bv.order.picked.v1',
  topic: topics.orders,
  description: 'Every line was picked (confirmed by weight at the shelf)',
  schema: progress,
});

export const orderPackedV1 = defineEvent({
  type: 'bv.order.packed.v1',
  topic: topics.orders,
  description: 'The picked order was packed',
  schema: progress,
});

export const orderShippedV1 = defineEvent({
  type: 'bv.order.shipped.v1',
  topic: topics.orders,
  description: 'The packed order left the site',
  schema: progress.extend({ trackingRef: z.string().max(200).optional() }),
});

export const orderCancelledV1 = defineEvent({
  type: 'bv.order.cancelled.v1',
  topic: topics.orders,
  description: 'The order was cancelled; its reservations are released',
  schema: z.object({
    ...orderRef,
    by: actor,
    /** `customer` or `staff`: the rule of who may cancel when depends on it. */
    byRole: z.enum(['customer', 'staff', 'system']),
    reason: z.string().max(500),
    at: z.string().datetime({ offset: true }),
  }),
});

export const orderReturnedV1 = defineEvent({
  type: 'bv.order.returned.v1',
  topic: topics.orders,
  description: 'The picked order came back (recorded by staff); payments refunds what was captured',
  schema: z.object({
    ...orderRef,
    by: actor,
    reason: z.string().max(500),
    at: z.string().datetime({ offset: true }),
  }),
});

export type OrderLine = z.infer<typeof orderLine>;
export type OrderPlaced = z.infer<typeof orderPlacedV1.schema>;
export type OrderReserved = z.infer<typeof orderReservedV1.schema>;
export type OrderRejected = z.infer<typeof orderRejectedV1.schema>;
export type OrderConfirmed = z.infer<typeof orderConfirmedV1.schema>;
export type OrderProgress = z.infer<typeof progress>;
export type OrderShipped = z.infer<typeof orderShippedV1.schema>;
export type OrderCancelled = z.infer<typeof orderCancelledV1.schema>;
export type OrderReturned = z.infer<typeof orderReturnedV1.schema>;

export const orderEvents = [
  orderPlacedV1,
  orderReservedV1,
  orderRejectedV1,
  orderConfirmedV1,
  orderPickingV1,
  orderPickedV1,
  orderPackedV1,
  orderShippedV1,
  orderCancelledV1,
  orderReturnedV1,
] as const;
