import { ValidationError } from '../errors/index.js';
import { type Reading, reading as readingSchema } from '../events/index.js';
import { encodeReadingsFast, fastEncodable } from './fast-readings.js';
import { binWeightMetric, metricNames, parseBinWeightMetric } from './names.js';
import { asPayload, type DecodeOptions, encodePayload, type Metric, type Payload } from './payload.js';

/** A reading as the edge agent holds it: `time` as ms since the epoch or ISO 8601. */
export interface ReadingInput {
  seq: number;
  time: number | string;
  bins: readonly { bin: number; weightG: number }[];
  temperatureC?: number | undefined;
}

/**
 * DDATA metrics for readings, in order: `reading/seq` (UInt64) then `bin/NN/weight_g` (Double)
 * for every bin and `temperature_c` (Double) if known, all stamped with the reading's original
 * time [tck-id-payloads-name-birth-data-requirement]; `isHistorical` when forwarded from a backlog.
 */
export function readingMetrics(readings: readonly ReadingInput[], historical: boolean): Metric[] {
  const out: Metric[] = [];
  for (const r of readings) {
    const timestamp = typeof r.time === 'number' ? r.time : Date.parse(r.time);
    if (!Number.isFinite(timestamp)) throw new ValidationError(`reading ${r.seq}: invalid time`);
    const h = historical ? { isHistorical: true } : {};
    out.push({ name: metricNames.readingSeq, type: 'UInt64', value: r.seq, timestamp, ...h });
    for (const b of r.bins) {
      out.push({ name: binWeightMetric(b.bin), type: 'Double', value: b.weightG, timestamp, ...h });
    }
    if (r.temperatureC !== undefined) {
      out.push({ name: metricNames.temperature, type: 'Double', value: r.temperatureC, timestamp, ...h });
    }
  }
  return out;
}

export interface EncodeReadingsOptions {
  seq: number;
  historical: boolean;
  /** When the message is sent; defaults to now. */
  timestamp?: number;
  /** Further metrics for the same DDATA, e.g. command results. */
  extraMetrics?: Metric[];
}

/** A whole DDATA payload carrying `readings`. */
export function encodeReadings(
  readings: readonly ReadingInput[],
  options: EncodeReadingsOptions,
): Uint8Array {
  const timestamp = options.timestamp ?? Date.now();
  // The hot path (a backlog of readings) bypasses the object model; same bytes (tested).
  if (!options.extraMetrics?.length && fastEncodable(readings, options.seq, timestamp)) {
    return encodeReadingsFast(readings, options.seq, options.historical, timestamp);
  }
  return encodePayload({
    timestamp,
    seq: options.seq,
    metrics: [...readingMetrics(readings, options.historical), ...(options.extraMetrics ?? [])],
  });
}

export interface DecodedReadings {
  readings: Reading[];
  /** True when the readings were forwarded from a backlog (every `reading/seq` is `isHistorical`). */
  historical: boolean;
}

/**
 * The readings in a DDATA payload (bytes or decoded). A reading runs from its `reading/seq`
 * metric to the next one; bin and temperature metrics before the first `reading/seq` are invalid;
 * other metrics (command results, anything unknown) are ignored. A payload mixing historical and
 * live readings is invalid: the agent never sends one, and a telemetry event has one flag.
 */
export function decodeReadings(input: Uint8Array | Payload, options?: DecodeOptions): DecodedReadings {
  const payload = asPayload(input, options);
  const readings: Reading[] = [];
  let current: Reading | undefined;
  let historicalCount = 0;
  const finish = () => {
    if (!current) return;
    const parsed = readingSchema.safeParse(current);
    if (!parsed.success) {
      throw new ValidationError(
        `reading ${current.seq}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    readings.push(parsed.data);
  };
  for (const m of payload.metrics) {
    if (m.name === metricNames.readingSeq) {
      finish();
      if (typeof m.value !== 'number' || !Number.isSafeInteger(m.value) || m.value < 0) {
        throw new ValidationError('reading/seq is not a non-negative integer');
      }
      const time = m.timestamp ?? payload.timestamp;
      if (time === undefined) throw new ValidationError(`reading ${m.value} has no timestamp`);
      current = { seq: m.value, time: new Date(time).toISOString(), bins: [] };
      if (m.isHistorical) historicalCount++;
      continue;
    }
    const bin = parseBinWeightMetric(m.name);
    if (bin !== undefined) {
      if (!current) throw new ValidationError(`${m.name} before any reading/seq`);
      if (typeof m.value !== 'number') throw new ValidationError(`${m.name} is not a number`);
      current.bins.push({ bin, weightG: m.value });
    } else if (m.name === metricNames.temperature) {
      if (!current) throw new ValidationError(`${m.name} before any reading/seq`);
      if (typeof m.value !== 'number') throw new ValidationError(`${m.name} is not a number`);
      current.temperatureC = m.value;
    }
  }
  finish();
  if (historicalCount !== 0 && historicalCount !== readings.length) {
    throw new ValidationError('payload mixes historical and live readings');
  }
  return { readings, historical: readings.length > 0 && historicalCount === readings.length };
}
