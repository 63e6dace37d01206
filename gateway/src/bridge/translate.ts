import { ValidationError } from '@bitv/shared/errors';
import {
  type BvEvent,
  commandResultV1,
  createEvent,
  type DeviceState,
  deviceStateV1,
  type EventDefinition,
  type GenericMetric,
  maxGenericMetricNameLength,
  maxGenericMetricStringLength,
  maxGenericMetricsPerEvent,
  maxReadingsPerEvent,
  type TelemetryMetrics,
  telemetryGapV1,
  telemetryMetricsV1,
  telemetryReadingsV1,
} from '@bitv/shared/events';
import {
  binLedMetric,
  type DeviceBirth,
  type DeviceTopic,
  decodeCommandResults,
  decodeDeviceBirth,
  decodeGaps,
  decodeNodeBirth,
  decodeNodeDeath,
  decodeNodeHealth,
  decodePayload,
  decodeReadings,
  findMetric,
  formatLight,
  isoTime,
  type Metric,
  metricNames,
  type NodeTopic,
  type Payload,
} from '@bitv/shared/sparkplug';
import { type Digest, digestOf, topicDigest, uuidFrom } from './message-id.js';
import type { Outgoing } from './records.js';

/** What one uplink message becomes: events for the log and what was skipped inside it. */
export interface Translation {
  events: Outgoing[];
  /** Number of readings in a DDATA (for metrics). */
  readings: number;
  /** Parts dropped while the rest of the message was kept (e.g. a malformed command result). */
  skipped: readonly string[];
  /** The message's Sparkplug seq (0..255); undefined for NDEATH, which carries none. */
  seq?: number;
}

export type UplinkTopic = (NodeTopic | DeviceTopic) & {
  type: 'NBIRTH' | 'NDEATH' | 'NDATA' | 'DBIRTH' | 'DDEATH' | 'DDATA';
};

const uplinkTypes: ReadonlySet<string> = new Set(['NBIRTH', 'NDEATH', 'NDATA', 'DBIRTH', 'DDEATH', 'DDATA']);

export function isUplink(topic: { type: string }): topic is UplinkTopic {
  return uplinkTypes.has(topic.type);
}

/**
 * Turns one Sparkplug B uplink message into CloudEvents, keyed by the edge node id so one
 * gateway's events stay in order. Throws ValidationError when the payload or its readings are
 * malformed: the caller counts the message and drops it whole.
 *
 * Any valid Sparkplug B message is admitted: our metric names (docs/sparkplug.md) give it shelf
 * meaning (readings, bins, agent health), never admission. A DBIRTH without `device/bin_count` is
 * a generic device's birth, a DDATA without `reading/seq` carries no readings, and the metrics no
 * other event carries travel as `bv.telemetry.metrics.v1` (issue #13 item 8: a Tahu edge node's
 * DBIRTH was dropped while its DDATA passed, so hosts saw data from a device never born).
 *
 * Event ids derive from the message bytes, so a message the device sends again (after a lost
 * PUBACK) yields the same ids and consumers can drop the copy.
 */
export function translate(topic: UplinkTopic, bytes: Uint8Array, source: string): Translation {
  const payload = decodePayload(bytes);
  // [tck-id-payloads-sequence-num-always-included] every message but NDEATH carries seq 0..255
  if (topic.type !== 'NDEATH' && (payload.seq === undefined || payload.seq < 0 || payload.seq > 255)) {
    throw new ValidationError(`${topic.type} without a valid seq`);
  }
  const m = new MessageEvents(topic, bytes, source, payload.timestamp);
  switch (topic.type) {
    case 'NBIRTH': {
      const b = decodeNodeBirth(payload);
      m.state({
        kind: 'NBIRTH',
        online: true,
        bdSeq: b.bdSeq,
        queueDepth: b.outboxDepth,
        oldestUnsentMs: b.oldestUnsentMs,
        metrics: {
          ...(b.agentVersion ? { 'agent/version': b.agentVersion } : {}),
          ...linkMetrics(b),
        },
      });
      m.metrics(payload, 'NBIRTH', undefined, isNodeMetric);
      break;
    }
    case 'NDEATH':
      m.state({ kind: 'NDEATH', online: false, bdSeq: decodeNodeDeath(payload).bdSeq });
      break;
    case 'NDATA': {
      const h = decodeNodeHealth(payload);
      if (
        h.outboxDepth !== undefined ||
        h.oldestUnsentMs !== undefined ||
        h.droppedTotal !== undefined ||
        h.linksDown !== undefined
      ) {
        m.state({
          kind: 'NDATA',
          online: true,
          ...(h.outboxDepth !== undefined ? { queueDepth: h.outboxDepth } : {}),
          ...(h.oldestUnsentMs !== undefined ? { oldestUnsentMs: h.oldestUnsentMs } : {}),
          metrics: {
            ...(h.droppedTotal !== undefined ? { 'outbox/dropped_total': h.droppedTotal } : {}),
            ...linkMetrics(h),
          },
        });
      }
      m.commandResults(payload, undefined);
      m.gaps(payload);
      m.metrics(payload, 'NDATA', undefined, isNodeMetric);
      break;
    }
    case 'DBIRTH': {
      if (findMetric(payload, metricNames.deviceBinCount) === undefined) {
        // Not one of our shelves: a device all the same, born with whatever metrics it has.
        m.state({ kind: 'DBIRTH', online: true, deviceId: topic.deviceId });
        m.metrics(payload, 'DBIRTH', topic.deviceId, isSessionMetric);
        break;
      }
      const b = decodeDeviceBirth(payload);
      m.state({
        kind: 'DBIRTH',
        online: true,
        deviceId: topic.deviceId,
        firmware: b.firmware,
        serialNumber: b.serialNumber,
        binCount: b.binCount,
        // Pick-to-light as the shelf reports it; an unknown light (null) is left out, so the
        // cloud keeps what it knew.
        ...(b.lights ? { metrics: lightsRecord(b.lights) } : {}),
      });
      m.metrics(payload, 'DBIRTH', topic.deviceId, isShelfMetric);
      break;
    }
    case 'DDEATH':
      m.state({ kind: 'DDEATH', online: false, deviceId: topic.deviceId });
      break;
    case 'DDATA': {
      // Readings only where our sequence metric says they are: another device's `temperature_c`
      // is its own metric, not a reading without a seq.
      const shelf = findMetric(payload, metricNames.readingSeq) !== undefined;
      const covered = shelf ? m.readings(payload, topic.deviceId) : 0;
      m.commandResults(payload, topic.deviceId);
      // A DDATA of readings alone (the hot path) has nothing else to look at.
      if (covered !== payload.metrics.length) {
        m.metrics(payload, 'DDATA', topic.deviceId, shelf ? isShelfMetric : isDeviceCommandMetric);
      }
      break;
    }
  }
  if (topic.type !== 'NDEATH') m.out.seq = payload.seq;
  return m.out;
}

/** `bin/NN/led` -> `off` | `#rrggbb <blink>` for the lights a DBIRTH knows (unknown ones left out). */
function lightsRecord(lights: NonNullable<DeviceBirth['lights']>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { bin, light } of lights) {
    const value = formatLight(light);
    if (value !== null) out[binLedMetric(bin)] = value;
  }
  return out;
}

/**
 * The events of one message. A class rather than closures: this runs for every PUBLISH, and
 * per-call function objects showed up in the gateway's profile.
 */
class MessageEvents {
  readonly out: Translation = { events: [], readings: 0, skipped: nothingSkipped };
  readonly #topic: UplinkTopic;
  readonly #topicDigest: Digest;
  readonly #bytes: Uint8Array;
  readonly #source: string;
  readonly #time: Date;
  /** Hashed only when an event is made here: readings are hashed per record (records.ts). */
  #digest: Digest | undefined;
  #index = 0;

  constructor(topic: UplinkTopic, bytes: Uint8Array, source: string, timestamp: number | undefined) {
    this.#topic = topic;
    this.#topicDigest = topicDigests.get(topic) ?? digestOfTopic(topic);
    this.#bytes = bytes;
    this.#source = source;
    // Sparkplug timestamps are UInt64 ms; one outside the Date range is not an error worth a drop
    this.#time = new Date(timestamp !== undefined && Math.abs(timestamp) <= 8.64e15 ? timestamp : Date.now());
  }

  state(data: Omit<DeviceState, 'groupId' | 'edgeNodeId'>): void {
    this.#push(deviceStateV1, { ...this.#base(), ...data });
  }

  /** Returns how many metrics the readings account for (seq, bins, temperature). */
  readings(payload: Payload, deviceId: string): number {
    const { readings, historical } = decodeReadings(payload);
    if (readings.length > maxReadingsPerEvent) {
      throw new ValidationError(`DDATA with ${readings.length} readings, more than ${maxReadingsPerEvent}`);
    }
    if (readings.length === 0) return 0;
    // every reading is already checked against the schema (decodeReadings) and the ids by the
    // topic parser: the event itself is built per batch, where a device's readings merge
    this.#index++; // index 0 is the readings' (records.ts derives it from the same message)
    this.out.events.push({
      topic: telemetryReadingsV1.topic,
      key: this.#topic.edgeNodeId,
      telemetry: {
        origin: [this.#topicDigest, this.#bytes],
        source: this.#source,
        subject: deviceId,
        time: this.#time,
        // spelled out: spreading #base() here cost microseconds per message (V8 slow path)
        data: {
          groupId: this.#topic.groupId,
          edgeNodeId: this.#topic.edgeNodeId,
          deviceId,
          historical,
          readings,
        },
      },
    });
    this.out.readings = readings.length;
    let covered = 0;
    for (const r of readings) covered += 1 + r.bins.length + (r.temperatureC === undefined ? 0 : 1);
    return covered;
  }

  /**
   * The metrics of the message that no other event carries (`known` says which are), as a
   * generic metrics event. Bounded: beyond maxGenericMetricsPerEvent, or with a name too long
   * to store, a metric is skipped, not the message; a long string is cut.
   */
  metrics(
    payload: Payload,
    kind: TelemetryMetrics['kind'],
    deviceId: string | undefined,
    known: (name: string) => boolean,
  ): void {
    let list: GenericMetric[] | undefined;
    for (const metric of payload.metrics) {
      if (known(metric.name)) continue;
      list ??= [];
      if (list.length === maxGenericMetricsPerEvent || metric.name.length > maxGenericMetricNameLength) {
        this.#skipped('metric');
        continue;
      }
      list.push(this.#generic(metric));
    }
    if (list === undefined || list.length === 0) return;
    this.#push(telemetryMetricsV1, {
      ...this.#base(),
      ...(deviceId !== undefined ? { deviceId } : {}),
      kind,
      metrics: list,
    });
  }

  #generic(m: Metric): GenericMetric {
    const value =
      typeof m.value === 'number' && !Number.isFinite(m.value)
        ? null
        : typeof m.value === 'string'
          ? m.value.slice(0, maxGenericMetricStringLength)
          : m.value;
    const ms = m.timestamp;
    const time =
      ms !== undefined && Number.isSafeInteger(ms) && ms >= 0 && ms <= lastIsoTime
        ? isoTime(ms)
        : this.#time.toISOString();
    return { name: m.name, type: m.type, value, time, ...(m.isHistorical ? { historical: true } : {}) };
  }

  /** A malformed command result must not cost the readings that travel with it. */
  commandResults(payload: Payload, deviceId: string | undefined): void {
    let results: ReturnType<typeof decodeCommandResults>;
    try {
      results = decodeCommandResults(payload);
    } catch (error) {
      this.#skip('command_result', error);
      return;
    }
    for (const r of results) {
      try {
        this.#push(commandResultV1, {
          ...this.#base(),
          ...(deviceId !== undefined ? { deviceId } : {}),
          commandId: r.id,
          status: r.status,
          ...(r.reason !== undefined ? { reason: r.reason.slice(0, 500) } : {}),
        });
      } catch (error) {
        this.#skip('command_result', error);
      }
    }
  }

  /**
   * Readings the agent will never send (dropped at an outbox limit, never received on the shelf
   * link): said as events so consumers can tell lost from late. A malformed report is skipped
   * alone, like a malformed command result.
   */
  gaps(payload: Payload): void {
    let reports: ReturnType<typeof decodeGaps>;
    try {
      reports = decodeGaps(payload);
    } catch (error) {
      this.#skip('gap_report', error);
      return;
    }
    for (const g of reports) {
      try {
        this.#push(telemetryGapV1, {
          ...this.#base(),
          deviceId: g.device,
          kind: g.kind,
          reason: g.reason.slice(0, 200),
          fromSeq: g.fromSeq,
          toSeq: g.toSeq,
          count: g.count,
        });
      } catch (error) {
        this.#skip('gap_report', error);
      }
    }
  }

  #base() {
    return { groupId: this.#topic.groupId, edgeNodeId: this.#topic.edgeNodeId };
  }

  #push<T>(def: EventDefinition<T>, data: T): void {
    this.#digest ??= digestOf(this.#bytes, this.#topicDigest);
    const topic = this.#topic;
    this.out.events.push({
      topic: def.topic,
      key: topic.edgeNodeId,
      event: createEvent(def, {
        id: uuidFrom(this.#digest, this.#index++),
        source: this.#source,
        key: topic.edgeNodeId,
        subject: 'deviceId' in topic ? topic.deviceId : topic.edgeNodeId,
        time: this.#time,
        data,
      }) as BvEvent,
    });
  }

  /** Only a ValidationError is the message's fault; anything else is a bug and goes up. */
  #skip(part: string, error: unknown): void {
    if (!(error instanceof ValidationError)) throw error;
    this.#skipped(part);
  }

  /** Almost no message skips anything: the list is made on the first skip, not per message. */
  #skipped(part: string): void {
    if (this.out.skipped === nothingSkipped) this.out.skipped = [part];
    else (this.out.skipped as string[]).push(part);
  }
}

/** 9999-12-31T23:59:59.999Z: the last time with a four-digit ISO 8601 year. */
const lastIsoTime = 253_402_300_799_999;

/** Sparkplug's own session metrics: bdSeq and `Node Control/*` [tck-id-payloads-ndeath-bdseq]. */
function isSessionMetric(name: string): boolean {
  return name === metricNames.bdSeq || name.startsWith('Node Control/');
}

/** An edge node's metrics that device-state, command-result and gap events already carry. */
function isNodeMetric(name: string): boolean {
  return (
    isSessionMetric(name) ||
    name === metricNames.agentVersion ||
    name.startsWith('outbox/') ||
    name.startsWith('links/') ||
    name.startsWith('command/')
  );
}

function isDeviceCommandMetric(name: string): boolean {
  return isSessionMetric(name) || name.startsWith('command/');
}

/**
 * A shelf's metrics that readings, device-state and command-result events already carry. Runs for
 * every metric of every readings DDATA: the common names (bins, then seq) are tested first.
 */
function isShelfMetric(name: string): boolean {
  return (
    name.startsWith('bin/') ||
    name === metricNames.readingSeq ||
    name === metricNames.temperature ||
    name.startsWith('device/') ||
    isDeviceCommandMetric(name)
  );
}

const nothingSkipped: readonly string[] = Object.freeze([]);

/**
 * A connection's parsed topic is kept with its last PUBLISH (broker/hooks.ts), so the digest that
 * seeds its event ids is made once per topic object, not once per message.
 */
const topicDigests = new WeakMap<UplinkTopic, Digest>();

function digestOfTopic(t: UplinkTopic): Digest {
  const digest = topicDigest(
    `${t.groupId}/${t.type}/${t.edgeNodeId}${'deviceId' in t ? `/${t.deviceId}` : ''}`,
  );
  topicDigests.set(t, digest);
  return digest;
}

/** The agent's device links that are down (`links/down`, `links/error`), for the cloud's fleet view. */
function linkMetrics(h: {
  linksDown?: number | undefined;
  linkError?: string | undefined;
}): Record<string, number | string> {
  return {
    ...(h.linksDown !== undefined ? { [metricNames.linksDown]: h.linksDown } : {}),
    // The event schema bounds nothing here, but a record value should stay a sentence, not a log.
    ...(h.linkError !== undefined ? { [metricNames.linkError]: h.linkError.slice(0, 500) } : {}),
  };
}
