import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);
const bin = z.number().int().min(0).max(255);

/** Where a pick list line sits and what it asks for. */
const pickLine = z.object({
  lineId: id,
  sku: id,
  quantity: z.number().int().positive(),
  /** Null when no bin of the site holds the SKU (the line is short). */
  shelfId: id.nullable(),
  bin: bin.nullable(),
});

export const pickListCreatedV1 = defineEvent({
  type: 'bv.pick.list-created.v1',
  topic: topics.fulfilment,
  description: 'A confirmed order became a pick list for its site, lines in walking order',
  schema: z.object({
    pickId: id,
    orderId: id,
    siteId: id,
    lines: z.array(pickLine).min(1).max(500),
  }),
});

export const pickStartedV1 = defineEvent({
  type: 'bv.pick.started.v1',
  topic: topics.fulfilment,
  description: "A pick began: its lines' bins are lit (one set_led command per bin, grouped per shelf)",
  schema: z.object({ pickId: id, orderId: id, siteId: id, startedBy: z.string().max(200).optional() }),
});

export const pickLineConfirmedV1 = defineEvent({
  type: 'bv.pick.line-confirmed.v1',
  topic: topics.fulfilment,
  description:
    "A settled weight drop of the line's quantity at its bin confirmed the line; its light goes off",
  schema: z.object({
    pickId: id,
    orderId: id,
    siteId: id,
    lineId: id,
    sku: id,
    quantity: z.number().int().positive(),
    shelfId: id,
    bin,
    /** The shelf reading that settled the drop (identifies the confirmation across redeliveries). */
    reading: z.object({ edgeNodeId: id, deviceId: id, seq: z.number().int().nonnegative() }).optional(),
  }),
});

export const misPickV1 = defineEvent({
  type: 'bv.pick.mis-pick.v1',
  topic: topics.fulfilment,
  description:
    'During a pick, units left a bin the pick does not want now (another bin, or too many): an alert, the bin lit red',
  schema: z.object({
    pickId: id,
    orderId: id,
    siteId: id,
    shelfId: id,
    bin,
    sku: id.nullable(),
    /** Units that left the bin (previous count minus new count). */
    taken: z.number().int().positive(),
    /** The line this bin serves, if any (taken more than it asked for). */
    lineId: id.optional(),
    alertId: z.string().uuid(),
    message: z.string().max(500),
  }),
});

export const shortPickV1 = defineEvent({
  type: 'bv.pick.short-pick.v1',
  topic: topics.fulfilment,
  description: 'A pick line cannot be filled: the bin holds fewer units than the line asks for',
  schema: z.object({
    pickId: id,
    orderId: id,
    siteId: id,
    lineId: id,
    sku: id,
    quantity: z.number().int().positive(),
    /** Units the bin holds (by weight) when the shortage was found. */
    available: z.number().int().nonnegative(),
    shelfId: id.nullable(),
    bin: bin.nullable(),
  }),
});

export const pickCompletedV1 = defineEvent({
  type: 'bv.pick.completed.v1',
  topic: topics.fulfilment,
  description: 'Every line of the pick list was confirmed by weight: the order is picked',
  schema: z.object({
    pickId: id,
    orderId: id,
    siteId: id,
    lines: z.array(z.object({ sku: id, quantity: z.number().int().positive() })).min(1),
    completedAt: z.string().datetime({ offset: true }),
  }),
});

export type PickListCreated = z.infer<typeof pickListCreatedV1.schema>;
export type PickStarted = z.infer<typeof pickStartedV1.schema>;
export type PickLineConfirmed = z.infer<typeof pickLineConfirmedV1.schema>;
export type MisPick = z.infer<typeof misPickV1.schema>;
export type ShortPick = z.infer<typeof shortPickV1.schema>;
export type PickCompleted = z.infer<typeof pickCompletedV1.schema>;

export const fulfilmentEvents = [
  pickListCreatedV1,
  pickStartedV1,
  pickLineConfirmedV1,
  misPickV1,
  shortPickV1,
  pickCompletedV1,
] as const;
