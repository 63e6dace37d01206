import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

/** Bounds of a generic metrics event, also applied by the bridge before it builds one. */
export const maxGenericMetricsPerEvent = 1_000;
export const maxGenericMetricNameLength = 256;
export const maxGenericMetricStringLength = 1_000;

/** The Sparkplug B plain data types a generic metric may have. */
export const genericMetricTypes = [
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float',
  'Double',
  'Boolean',
  'String',
  'DateTime',
  'Text',
  'UUID',
] as const;

export const genericMetric = z.object({
  name: z.string().min(1).max(maxGenericMetricNameLength),
  type: z.enum(genericMetricTypes),
  /** null: the Sparkplug is_null flag (the value is unknown). Non-finite numbers are sent as null. */
  value: z.union([z.number().finite(), z.string().max(maxGenericMetricStringLength), z.boolean(), z.null()]),
  /** When the value was taken (ISO 8601): the metric's own timestamp, else the payload's. */
  time: z.string().datetime({ offset: true }),
  /** Sparkplug is_historical: a value stored at the edge and forwarded later. */
  historical: z.boolean().optional(),
});

/**
 * Metrics of any Sparkplug B edge node or device, as they came, for the metrics the platform's own
 * conventions (shelf readings, agent health, commands) do not already carry in another event.
 * A third-party edge node's telemetry arrives as these; ours only when it sends something extra.
 */
export const telemetryMetricsV1 = defineEvent({
  type: 'bv.telemetry.metrics.v1',
  topic: topics.telemetry,
  description: 'Metrics of a Sparkplug edge node or device, by name, type, value and time',
  schema: z.object({
    groupId: id,
    edgeNodeId: id,
    /** Absent for the edge node's own metrics (NBIRTH/NDATA). */
    deviceId: id.optional(),
    /** The Sparkplug message that carried them: a birth holds a current value of every metric. */
    kind: z.enum(['NBIRTH', 'NDATA', 'DBIRTH', 'DDATA']),
    metrics: z.array(genericMetric).min(1).max(maxGenericMetricsPerEvent),
  }),
});

export type GenericMetric = z.infer<typeof genericMetric>;
export type TelemetryMetrics = z.infer<typeof telemetryMetricsV1.schema>;
