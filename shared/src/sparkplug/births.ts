import { ValidationError } from '../errors/index.js';
import { gapMetricNames } from './gaps.js';
import { type LightState, lightMetrics, parseLight } from './lights.js';
import { binWeightMetric, metricNames, parseBinLedMetric, parseBinWeightMetric } from './names.js';
import {
  asPayload,
  type DecodeOptions,
  encodePayload,
  findMetric,
  type Metric,
  type MetricType,
  numberValue,
  type Payload,
  stringValue,
} from './payload.js';

/** Edge-agent health carried by NBIRTH and NDATA. */
export interface NodeHealth {
  outboxDepth?: number | undefined;
  oldestUnsentMs?: number | undefined;
  droppedTotal?: number | undefined;
  linksDown?: number | undefined;
  linkError?: string | undefined;
}

export interface NodeBirth {
  bdSeq: number;
  agentVersion: string;
  outboxDepth: number;
  oldestUnsentMs: number;
  droppedTotal?: number | undefined;
  /** Declared in every NBIRTH (0, '' when all links are up), as NDATA may carry them [tck-id-payloads-nbirth-metrics]. */
  linksDown?: number | undefined;
  linkError?: string | undefined;
}

export interface DeviceBirth {
  serialNumber: string;
  firmware: string;
  binCount: number;
  /** Current weight per bin: a DBIRTH carries a current value for every metric [tck-id-operational-behavior-data-publish-dbirth-values]. */
  bins: { bin: number; weightG: number }[];
  temperatureC?: number | undefined;
  /** The last reading seq the agent stored for this device (0 when none yet). */
  lastSeq?: number | undefined;
  /**
   * Pick-to-light state per bin (`bin/NN/led`), as far as the edge node knows it; null = unknown.
   * Decoding skips a value that is not a light (one bad metric must not cost the birth).
   */
  lights?: { bin: number; light: LightState }[] | undefined;
}

/** Command results (`command/id`, `command/status`, `command/reason`), in NDATA and DDATA. */
export const commandResultTypes: Readonly<Record<string, MetricType>> = {
  [metricNames.commandId]: 'String',
  [metricNames.commandStatus]: 'String',
  [metricNames.commandReason]: 'String',
};

/**
 * Every metric an edge node of ours publishes in NBIRTH or NDATA, with its datatype: health, gap
 * reports and command results. The NBIRTH declares each one, with its current value or null
 * (is_null) when it has none, such as a gap report or a command result before there is one
 * [tck-id-operational-behavior-data-publish-nbirth] [tck-id-operational-behavior-data-publish-nbirth-values].
 */
export const nodeMetricTypes: Readonly<Record<string, MetricType>> = {
  [metricNames.bdSeq]: 'UInt64',
  [metricNames.rebirth]: 'Boolean',
  [metricNames.agentVersion]: 'String',
  [metricNames.outboxDepth]: 'UInt64',
  [metricNames.outboxOldestUnsentMs]: 'UInt64',
  [metricNames.outboxDroppedTotal]: 'UInt64',
  [metricNames.linksDown]: 'UInt64',
  [metricNames.linkError]: 'String',
  [gapMetricNames.device]: 'String',
  [gapMetricNames.kind]: 'String',
  [gapMetricNames.reason]: 'String',
  [gapMetricNames.fromSeq]: 'UInt64',
  [gapMetricNames.toSeq]: 'UInt64',
  [gapMetricNames.count]: 'UInt64',
  ...commandResultTypes,
};

/** Null-valued declarations (a birth's "no value yet") of the given names and types. */
export function metricDeclarations(types: Readonly<Record<string, MetricType>>, timestamp: number): Metric[] {
  return Object.entries(types).map(([name, type]) => ({ name, type, value: null, timestamp }));
}

/**
 * The metrics of `metrics` whose names `declared` (the names of the last birth) lacks, once each,
 * as null-valued declarations: what a re-birth must add before these can be sent in a DATA message
 * [tck-id-operational-behavior-data-publish-nbirth] [tck-id-operational-behavior-data-publish-dbirth].
 */
export function undeclaredMetrics(declared: ReadonlySet<string>, metrics: readonly Metric[]): Metric[] {
  const missing = new Map<string, Metric>();
  for (const m of metrics) {
    if (declared.has(m.name) || missing.has(m.name)) continue;
    missing.set(m.name, { name: m.name, type: m.type, value: null, timestamp: m.timestamp ?? Date.now() });
  }
  return [...missing.values()];
}

/**
 * The NBIRTH metrics: every metric of `nodeMetricTypes` (so every metric an NDATA may carry),
 * `bdSeq` matching the will's [tck-id-topics-nbirth-bdseq-matching] and `Node Control/Rebirth` =
 * false [tck-id-operational-behavior-data-commands-rebirth-value].
 */
export function nodeBirthMetrics(birth: NodeBirth, timestamp = Date.now()): Metric[] {
  const values: Record<string, Metric['value']> = {
    [metricNames.bdSeq]: birth.bdSeq,
    [metricNames.rebirth]: false,
    [metricNames.agentVersion]: birth.agentVersion,
    [metricNames.outboxDepth]: birth.outboxDepth,
    [metricNames.outboxOldestUnsentMs]: birth.oldestUnsentMs,
    [metricNames.outboxDroppedTotal]: birth.droppedTotal ?? 0,
    [metricNames.linksDown]: birth.linksDown ?? 0,
    [metricNames.linkError]: birth.linkError ?? '',
  };
  return Object.entries(nodeMetricTypes).map(([name, type]) => ({
    name,
    type,
    value: values[name] ?? null,
    timestamp,
  }));
}

/** NBIRTH: seq 0 [tck-id-payloads-nbirth-seq], a payload timestamp [tck-id-payloads-nbirth-timestamp]. */
export function encodeNodeBirth(birth: NodeBirth, timestamp = Date.now()): Uint8Array {
  return encodePayload({ timestamp, seq: 0, metrics: nodeBirthMetrics(birth, timestamp) });
}

export function decodeNodeBirth(input: Uint8Array | Payload, options?: DecodeOptions): NodeBirth {
  const p = asPayload(input, options);
  if (p.seq !== 0) throw new ValidationError('NBIRTH seq must be 0');
  return {
    bdSeq: numberValue(findMetric(p, metricNames.bdSeq), metricNames.bdSeq),
    agentVersion: optionalString(p, metricNames.agentVersion) ?? '',
    outboxDepth: optionalNumber(p, metricNames.outboxDepth) ?? 0,
    oldestUnsentMs: optionalNumber(p, metricNames.outboxOldestUnsentMs) ?? 0,
    droppedTotal: optionalNumber(p, metricNames.outboxDroppedTotal),
    linksDown: optionalNumber(p, metricNames.linksDown),
    linkError: optionalString(p, metricNames.linkError),
  };
}

/** NDEATH, registered as the MQTT will: only the bdSeq metric and no seq [tck-id-topics-ndeath-payload] [tck-id-topics-ndeath-seq]. */
export function encodeNodeDeath(bdSeq: number, timestamp = Date.now()): Uint8Array {
  return encodePayload({
    timestamp,
    metrics: [{ name: metricNames.bdSeq, type: 'UInt64', value: bdSeq, timestamp }],
  });
}

export function decodeNodeDeath(input: Uint8Array | Payload, options?: DecodeOptions): { bdSeq: number } {
  const p = asPayload(input, options);
  return { bdSeq: numberValue(findMetric(p, metricNames.bdSeq), metricNames.bdSeq) };
}

export function nodeHealthMetrics(health: NodeHealth, timestamp = Date.now()): Metric[] {
  const metrics: Metric[] = [];
  const add = (name: string, value: number | undefined) => {
    if (value !== undefined) metrics.push({ name, type: 'UInt64', value, timestamp });
  };
  add(metricNames.outboxDepth, health.outboxDepth);
  add(metricNames.outboxOldestUnsentMs, health.oldestUnsentMs);
  add(metricNames.outboxDroppedTotal, health.droppedTotal);
  add(metricNames.linksDown, health.linksDown);
  if (health.linkError !== undefined)
    metrics.push({ name: metricNames.linkError, type: 'String', value: health.linkError, timestamp });
  return metrics;
}

/** The outbox health metrics of an NBIRTH or NDATA (absent ones stay undefined). */
export function decodeNodeHealth(input: Uint8Array | Payload, options?: DecodeOptions): NodeHealth {
  const p = asPayload(input, options);
  return {
    outboxDepth: optionalNumber(p, metricNames.outboxDepth),
    oldestUnsentMs: optionalNumber(p, metricNames.outboxOldestUnsentMs),
    droppedTotal: optionalNumber(p, metricNames.outboxDroppedTotal),
    linksDown: optionalNumber(p, metricNames.linksDown),
    linkError: optionalString(p, metricNames.linkError),
  };
}

/**
 * DBIRTH: the device's identity and a current value of every metric it will send, command results
 * included (null: none yet) [tck-id-operational-behavior-data-publish-dbirth].
 */
export function deviceBirthMetrics(birth: DeviceBirth, timestamp = Date.now()): Metric[] {
  const metrics: Metric[] = [
    { name: metricNames.deviceSerial, type: 'String', value: birth.serialNumber, timestamp },
    { name: metricNames.deviceFirmware, type: 'String', value: birth.firmware, timestamp },
    { name: metricNames.deviceBinCount, type: 'UInt32', value: birth.binCount, timestamp },
    // DDATA carries `reading/seq`, so the birth declares it too (every metric a device reports
    // is born in DBIRTH); its value is the last reading seq stored for the device.
    { name: metricNames.readingSeq, type: 'UInt64', value: birth.lastSeq ?? 0, timestamp },
  ];
  for (const b of birth.bins) {
    metrics.push({ name: binWeightMetric(b.bin), type: 'Double', value: b.weightG, timestamp });
  }
  metrics.push({
    name: metricNames.temperature,
    type: 'Double',
    value: birth.temperatureC ?? null,
    timestamp,
  });
  if (birth.lights) metrics.push(...lightMetrics(birth.lights, timestamp));
  metrics.push(...metricDeclarations(commandResultTypes, timestamp));
  return metrics;
}

export function encodeDeviceBirth(birth: DeviceBirth, seq: number, timestamp = Date.now()): Uint8Array {
  return encodePayload({ timestamp, seq, metrics: deviceBirthMetrics(birth, timestamp) });
}

export function decodeDeviceBirth(input: Uint8Array | Payload, options?: DecodeOptions): DeviceBirth {
  const p = asPayload(input, options);
  const bins: DeviceBirth['bins'] = [];
  const lights: NonNullable<DeviceBirth['lights']> = [];
  let temperatureC: number | undefined;
  for (const m of p.metrics) {
    const bin = parseBinWeightMetric(m.name);
    if (bin !== undefined && typeof m.value === 'number') bins.push({ bin, weightG: m.value });
    if (m.name === metricNames.temperature && typeof m.value === 'number') temperatureC = m.value;
    const ledBin = parseBinLedMetric(m.name);
    const light = ledBin === undefined ? undefined : parseLight(m.value);
    if (ledBin !== undefined && light !== undefined) lights.push({ bin: ledBin, light });
  }
  const binCount = numberValue(findMetric(p, metricNames.deviceBinCount), metricNames.deviceBinCount);
  if (!Number.isInteger(binCount) || binCount < 0 || binCount > 255)
    throw new ValidationError('device/bin_count out of range');
  return {
    serialNumber: stringValue(findMetric(p, metricNames.deviceSerial), metricNames.deviceSerial),
    firmware: stringValue(findMetric(p, metricNames.deviceFirmware), metricNames.deviceFirmware),
    binCount,
    bins,
    temperatureC,
    lastSeq: optionalNumber(p, metricNames.readingSeq),
    ...(lights.length > 0 ? { lights } : {}),
  };
}

/** DDEATH: published by the edge node when a device goes away; carries the next seq. */
export function encodeDeviceDeath(seq: number, timestamp = Date.now()): Uint8Array {
  return encodePayload({ timestamp, seq, metrics: [] });
}

function optionalNumber(p: Payload, name: string): number | undefined {
  const m = findMetric(p, name);
  return m === undefined || m.value === null ? undefined : numberValue(m, name);
}

function optionalString(p: Payload, name: string): string | undefined {
  const m = findMetric(p, name);
  return m === undefined || m.value === null ? undefined : stringValue(m, name);
}
