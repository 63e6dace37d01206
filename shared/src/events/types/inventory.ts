import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

export const stockChangedV1 = defineEvent({
  type: 'bv.inventory.stock-changed.v1',
  topic: topics.inventory,
  description:
    "A bin's unit count changed: from shelf weight, a manual adjustment, a cycle count or an assignment",
  schema: z.object({
    siteId: id,
    shelfId: id,
    bin: z.number().int().min(0).max(255),
    sku: id.nullable(),
    previousCount: z.number().int().nonnegative(),
    count: z.number().int().nonnegative(),
    /** How sure the count from weight is: 1 when the weight sits exactly on a whole number of units. */
    confidence: z.number().min(0).max(1),
    reason: z.enum(['weight', 'adjustment', 'cycle_count', 'assignment']),
    weightG: z.number().finite().optional(),
    /** The reading that settled the count (reason `weight`), which identifies the change for consumers. */
    reading: z.object({ edgeNodeId: id, deviceId: id, seq: z.number().int().nonnegative() }).optional(),
    actor: z.string().max(200).optional(),
  }),
});

export const stockAlertV1 = defineEvent({
  type: 'bv.inventory.alert.v1',
  topic: topics.inventory,
  description: 'A low-stock alert was raised (count at or below the threshold) or cleared',
  schema: z.object({
    alertId: z.string().uuid(),
    siteId: id,
    shelfId: id,
    bin: z.number().int().min(0).max(255),
    sku: id.nullable(),
    kind: z.literal('low_stock'),
    status: z.enum(['open', 'cleared']),
    count: z.number().int().nonnegative(),
    threshold: z.number().int().nonnegative(),
  }),
});

export const hardwareAlertV1 = defineEvent({
  type: 'bv.inventory.hardware-alert.v1',
  topic: topics.inventory,
  description:
    "A bin's count stopped or started being current: its shelf offline, its load cell faulty, or its count's confidence low (raised or cleared)",
  schema: z.object({
    alertId: z.string().uuid(),
    siteId: id,
    shelfId: id,
    bin: z.number().int().min(0).max(255),
    sku: id.nullable(),
    kind: z.enum(['cell_fault', 'shelf_offline', 'low_confidence']),
    status: z.enum(['open', 'cleared']),
    message: z.string().max(500),
  }),
});

export const reservationChangedV1 = defineEvent({
  type: 'bv.inventory.reservation-changed.v1',
  topic: topics.inventory,
  description: 'Units of a SKU were reserved, released, or the reservation lapsed',
  schema: z.object({
    reservationId: z.string().uuid(),
    sku: id,
    quantity: z.number().int().positive(),
    reference: z.string().min(1).max(200),
    status: z.enum(['active', 'committed', 'consumed', 'released', 'expired']),
  }),
});

export type StockChanged = z.infer<typeof stockChangedV1.schema>;
export type StockAlert = z.infer<typeof stockAlertV1.schema>;
export type HardwareAlert = z.infer<typeof hardwareAlertV1.schema>;
export type ReservationChanged = z.infer<typeof reservationChangedV1.schema>;
