import { get } from 'sparkplug-payload';
import { ValidationError } from '../errors/index.js';
import { genericMetricTypes } from '../events/types/telemetry-metrics.js';
import { readPlainPayload } from './fast-payload.js';

const spB = get('spBv1.0');
if (!spB) throw new Error('sparkplug-payload has no spBv1.0 codec');
const codec = spB;

type UPayload = Parameters<typeof codec.encodePayload>[0];
type UMetric = NonNullable<UPayload['metrics']>[number];

/** The Sparkplug data types this platform writes and reads as plain values. */
export type MetricType =
  | 'Int8'
  | 'Int16'
  | 'Int32'
  | 'Int64'
  | 'UInt8'
  | 'UInt16'
  | 'UInt32'
  | 'UInt64'
  | 'Float'
  | 'Double'
  | 'Boolean'
  | 'String'
  | 'DateTime'
  | 'Text'
  | 'UUID';

// The plain types are the ones a generic metric event may carry: one list, in the event contract.
const plainTypes: ReadonlySet<string> = new Set<MetricType>(genericMetricTypes);

export type MetricValue = number | string | boolean | null;

/** One metric with 64-bit integers as JS numbers (every value we use is far below 2^53). */
export interface Metric {
  name: string;
  type: MetricType;
  value: MetricValue;
  /** ms since the epoch; required on every metric of NBIRTH/DBIRTH/NDATA/DDATA [tck-id-payloads-name-birth-data-requirement]. */
  timestamp?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
}

export interface Payload {
  /** ms since the epoch when the message was sent. */
  timestamp?: number;
  /** 0..255; absent only on NDEATH [tck-id-payloads-sequence-num-always-included]. */
  seq?: number;
  metrics: Metric[];
  uuid?: string;
}

export interface DecodeOptions {
  /** Metrics beyond this count make the payload invalid (bounds work on hostile input). */
  maxMetrics?: number;
}

const defaultDecode: Required<DecodeOptions> = { maxMetrics: 100_000 };

/** Encodes with the Eclipse Tahu codec (`sparkplug-payload`). Names are always sent (no aliases). */
export function encodePayload(payload: Payload): Uint8Array {
  const metrics: UMetric[] = payload.metrics.map((m) => {
    const out: UMetric = { name: m.name, type: m.type, value: m.value };
    if (m.timestamp !== undefined) out.timestamp = m.timestamp;
    if (m.isHistorical) out.isHistorical = true;
    if (m.isTransient) out.isTransient = true;
    return out;
  });
  const u: UPayload = { metrics };
  if (payload.timestamp !== undefined) u.timestamp = payload.timestamp;
  if (payload.seq !== undefined) u.seq = payload.seq;
  if (payload.uuid !== undefined) u.uuid = payload.uuid;
  return codec.encodePayload(u);
}

/**
 * Decodes a Sparkplug B payload from the wire. Anything that is not a valid protobuf Payload, or
 * holds metrics without a name (we never use aliases) or of a complex type (DataSet, Template,
 * Bytes...), is a ValidationError: the caller counts and drops it, it never throws anything else.
 * Payloads in the plain form are read directly (fast-payload.ts), the rest by the Tahu codec.
 */
export function decodePayload(bytes: Uint8Array, options: DecodeOptions = {}): Payload {
  const maxMetrics = options.maxMetrics ?? defaultDecode.maxMetrics;
  return readPlainPayload(bytes, maxMetrics) ?? decodePayloadWithCodec(bytes, { maxMetrics });
}

/** `decodePayload` through the Tahu codec alone: the reference the direct reader is tested against. */
export function decodePayloadWithCodec(bytes: Uint8Array, options: DecodeOptions = {}): Payload {
  const opts = { ...defaultDecode, ...options };
  let raw: UPayload;
  try {
    raw = codec.decodePayload(bytes);
  } catch (error) {
    throw new ValidationError('not a Sparkplug B payload', { cause: error });
  }
  const rawMetrics = raw.metrics ?? [];
  if (rawMetrics.length > opts.maxMetrics) {
    throw new ValidationError(`payload has ${rawMetrics.length} metrics, more than ${opts.maxMetrics}`);
  }
  const metrics: Metric[] = [];
  for (const m of rawMetrics) {
    // [tck-id-payloads-name-requirement] names are required unless aliases are used; we never use them.
    if (typeof m.name !== 'string' || m.name === '') throw new ValidationError('metric without a name');
    if (!plainTypes.has(m.type)) throw new ValidationError(`metric ${m.name}: unsupported type ${m.type}`);
    const metric: Metric = {
      name: m.name,
      type: m.type as MetricType,
      value: plainValue(m.name, m.value, m.type === 'Int64'),
    };
    const ts = optionalNumber(m.name, m.timestamp);
    if (ts !== undefined) metric.timestamp = ts;
    if (m.isHistorical) metric.isHistorical = true;
    if (m.isTransient) metric.isTransient = true;
    metrics.push(metric);
  }
  const payload: Payload = { metrics };
  const timestamp = optionalNumber('timestamp', raw.timestamp);
  if (timestamp !== undefined) payload.timestamp = timestamp;
  const seq = optionalNumber('seq', raw.seq);
  if (seq !== undefined) payload.seq = seq;
  if (typeof raw.uuid === 'string' && raw.uuid !== '') payload.uuid = raw.uuid;
  return payload;
}

/** Accepts raw bytes or an already decoded payload (so one message is decoded once). */
export function asPayload(input: Uint8Array | Payload, options?: DecodeOptions): Payload {
  return input instanceof Uint8Array ? decodePayload(input, options) : input;
}

interface LongLike {
  low: number;
  high: number;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v && 'unsigned' in v;
}

/**
 * 64-bit integers arrive as `Long`; we keep plain numbers and refuse what would lose precision.
 * The wire holds every long as uint64 [Sparkplug B, Payload.Metric long_value], so an Int64 is
 * read back as two's complement. Computed from the two 32-bit halves: Long's own toString divides
 * in software, per metric, and showed up in the gateway's profile.
 */
function toNumber(what: string, v: number | LongLike, signed = false): number {
  if (typeof v === 'number') return v;
  const n = (signed ? v.high | 0 : v.high >>> 0) * 0x1_0000_0000 + (v.low >>> 0);
  if (!Number.isSafeInteger(n)) throw new ValidationError(`${what}: 64-bit value ${n} is too large`);
  return n;
}

function optionalNumber(what: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' || isLong(v)) return toNumber(what, v);
  throw new ValidationError(`${what}: not a number`);
}

function plainValue(name: string, v: unknown, signed: boolean): MetricValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (isLong(v)) return toNumber(name, v, signed);
  throw new ValidationError(`metric ${name}: unsupported value`);
}

/** Metric lookup helpers for decoders. */
export function findMetric(payload: Payload, name: string): Metric | undefined {
  return payload.metrics.find((m) => m.name === name);
}

export function numberValue(metric: Metric | undefined, name: string): number {
  if (!metric || typeof metric.value !== 'number' || !Number.isFinite(metric.value)) {
    throw new ValidationError(`metric ${name} missing or not a number`);
  }
  return metric.value;
}

export function stringValue(metric: Metric | undefined, name: string): string {
  if (!metric || typeof metric.value !== 'string')
    throw new ValidationError(`metric ${name} missing or not a string`);
  return metric.value;
}
