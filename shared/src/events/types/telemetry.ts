import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

/** Bounds of the telemetry schema, also enforced by code that builds readings without parsing them. */
export const maxBinsPerReading = 256;
export const maxReadingsPerEvent = 10_000;

export const binReading = z.object({
  bin: z.number().int().min(0).max(255),
  /** Weight in grams (the shelf link carries 0.1 g units; converted once at the edge). */
  weightG: z.number().finite(),
});

export const reading = z.object({
  /** Per-device sequence assigned by the edge agent's outbox: monotonic, never reused. With the
   * gateway and device ids it identifies the reading, so every consumer can drop duplicates. */
  seq: z.number().int().nonnegative(),
  /** When the shelf took the reading (ISO 8601), kept through every buffer. */
  time: z.string().datetime({ offset: true }),
  bins: z.array(binReading).max(maxBinsPerReading),
  temperatureC: z.number().finite().optional(),
});

const telemetryReadings = z.object({
  groupId: id,
  edgeNodeId: id,
  deviceId: id,
  /** Sparkplug is_historical: stored while the primary host was offline and forwarded later. */
  historical: z.boolean(),
  readings: z.array(reading).min(1).max(maxReadingsPerEvent),
});

export const telemetryReadingsV1 = defineEvent({
  type: 'bv.telemetry.readings.v1',
  topic: topics.telemetry,
  description: 'A batch of shelf readings from one device, in sequence order',
  schema: telemetryReadings,
});

export type Reading = z.infer<typeof reading>;
export type TelemetryReadings = z.infer<typeof telemetryReadingsV1.schema>;
