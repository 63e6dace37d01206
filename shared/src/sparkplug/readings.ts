import { ValidationError } from '../errors/index.js';
import { maxBinsPerReading, type Reading } from '../events/index.js';
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
  for (const m of payload.metrics) {
    if (m.name === metricNames.readingSeq) {
      if (current) readings.push(finished(current));
      if (typeof m.value !== 'number' || !Number.isSafeInteger(m.value) || m.value < 0) {
        throw new ValidationError('reading/seq is not a non-negative integer');
      }
      const time = m.timestamp ?? payload.timestamp;
      if (time === undefined) throw new ValidationError(`reading ${m.value} has no timestamp`);
      if (!Number.isSafeInteger(time) || time < 0 || time > lastIsoTime) {
        throw new ValidationError(`reading ${m.value}: time ${time} is not whole ms between 1970 and 9999`);
      }
      current = { seq: m.value, time: isoTime(time), bins: [] };
      if (m.isHistorical) historicalCount++;
      continue;
    }
    const bin = parseBinWeightMetric(m.name);
    if (bin !== undefined) {
      if (!current) throw new ValidationError(`${m.name} before any reading/seq`);
      if (current.bins.length === maxBinsPerReading)
        throw new ValidationError(`reading ${current.seq}: more than ${maxBinsPerReading} bins`);
      current.bins.push({ bin, weightG: finite(m.name, m.value) });
    } else if (m.name === metricNames.temperature) {
      if (!current) throw new ValidationError(`${m.name} before any reading/seq`);
      if (typeof m.value !== 'number') throw new ValidationError(`${m.name} is not a number`);
      current.temperatureC = m.value; // the last one counts: checked when the reading is complete
    }
  }
  if (current) readings.push(finished(current));
  if (historicalCount !== 0 && historicalCount !== readings.length) {
    throw new ValidationError('payload mixes historical and live readings');
  }
  return { readings, historical: readings.length > 0 && historicalCount === readings.length };
}

/*
 * Readings are checked here, as they are built, against what the `reading` schema demands (a
 * test holds the two together): the bridge decodes every DDATA, and a schema parse per reading
 * was a large part of its cost. On the wire, timestamps are uint64 ms.
 */
/** 9999-12-31T23:59:59.999Z: later times have no four-digit ISO 8601 year. */
const lastIsoTime = 253_402_300_799_999;

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()` for whole ms in years 0..9999, formatting the date part once per
 * second: readings arrive in time order, and toISOString took a microsecond each on Node 20.
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    cachedSecond = second;
  }
  const fraction = ms - second * 1000;
  return `${cachedPrefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
}

function finished(r: Reading): Reading {
  if (r.temperatureC !== undefined) finite(metricNames.temperature, r.temperatureC);
  return r;
}

function finite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new ValidationError(`${name} is not a number`);
  if (!Number.isFinite(value)) throw new ValidationError(`${name} is not finite`);
  return value;
}
