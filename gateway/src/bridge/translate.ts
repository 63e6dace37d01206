import { createHash } from 'node:crypto';
import { ValidationError } from '@bitv/shared/errors';
import {
  type BvEvent,
  commandResultV1,
  createEvent,
  type DeviceState,
  deviceStateV1,
  type EventDefinition,
  telemetryGapV1,
  telemetryReadingsV1,
} from '@bitv/shared/events';
import {
  type DeviceTopic,
  decodeCommandResults,
  decodeDeviceBirth,
  decodeGaps,
  decodeNodeBirth,
  decodeNodeDeath,
  decodeNodeHealth,
  decodePayload,
  decodeReadings,
  type NodeTopic,
  type Payload,
} from '@bitv/shared/sparkplug';
import { maxReadingsPerEvent, type Outgoing, uuidFrom } from './records.js';

/** What one uplink message becomes: events for the log and what was skipped inside it. */
export interface Translation {
  events: Outgoing[];
  /** Number of readings in a DDATA (for metrics). */
  readings: number;
  /** Parts dropped while the rest of the message was kept (e.g. a malformed command result). */
  skipped: string[];
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
 * Event ids derive from the message bytes, so a message the device sends again (after a lost
 * PUBACK) yields the same ids and consumers can drop the copy.
 */
export function translate(topic: UplinkTopic, bytes: Uint8Array, source: string): Translation {
  const payload = decodePayload(bytes);
  // [tck-id-payloads-sequence-num-always-included] every message but NDEATH carries seq 0..255
  if (topic.type !== 'NDEATH' && (payload.seq === undefined || payload.seq < 0 || payload.seq > 255)) {
    throw new ValidationError(`${topic.type} without a valid seq`);
  }
  const digest = createHash('sha256').update(topicText(topic)).update(bytes).digest();
  // Sparkplug timestamps are UInt64 ms; one outside the Date range is not an error worth a drop
  const ts = payload.timestamp;
  const time = new Date(ts !== undefined && Math.abs(ts) <= 8.64e15 ? ts : Date.now());
  let n = 0;
  const subject = 'deviceId' in topic ? topic.deviceId : topic.edgeNodeId;
  const make = <T>(def: EventDefinition<T>, data: T): Outgoing => ({
    topic: def.topic,
    key: topic.edgeNodeId,
    event: createEvent(def, {
      id: uuidFrom(digest, n++),
      source,
      key: topic.edgeNodeId,
      subject,
      time,
      data,
    }) as BvEvent,
  });
  const base = { groupId: topic.groupId, edgeNodeId: topic.edgeNodeId };
  const out: Translation = { events: [], readings: 0, skipped: [] };
  const state = (data: Omit<DeviceState, 'groupId' | 'edgeNodeId'>) =>
    out.events.push(make(deviceStateV1, { ...base, ...data }));

  switch (topic.type) {
    case 'NBIRTH': {
      const b = decodeNodeBirth(payload);
      state({
        kind: 'NBIRTH',
        online: true,
        bdSeq: b.bdSeq,
        queueDepth: b.outboxDepth,
        oldestUnsentMs: b.oldestUnsentMs,
        ...(b.agentVersion ? { metrics: { 'agent/version': b.agentVersion } } : {}),
      });
      break;
    }
    case 'NDEATH':
      state({ kind: 'NDEATH', online: false, bdSeq: decodeNodeDeath(payload).bdSeq });
      break;
    case 'NDATA': {
      const h = decodeNodeHealth(payload);
      if (h.outboxDepth !== undefined || h.oldestUnsentMs !== undefined || h.droppedTotal !== undefined) {
        state({
          kind: 'NDATA',
          online: true,
          ...(h.outboxDepth !== undefined ? { queueDepth: h.outboxDepth } : {}),
          ...(h.oldestUnsentMs !== undefined ? { oldestUnsentMs: h.oldestUnsentMs } : {}),
          ...(h.droppedTotal !== undefined ? { metrics: { 'outbox/dropped_total': h.droppedTotal } } : {}),
        });
      }
      commandResults(payload, undefined);
      gaps(payload);
      break;
    }
    case 'DBIRTH': {
      const b = decodeDeviceBirth(payload);
      state({
        kind: 'DBIRTH',
        online: true,
        deviceId: topic.deviceId,
        firmware: b.firmware,
        serialNumber: b.serialNumber,
        binCount: b.binCount,
      });
      break;
    }
    case 'DDEATH':
      state({ kind: 'DDEATH', online: false, deviceId: topic.deviceId });
      break;
    case 'DDATA': {
      const { readings, historical } = decodeReadings(payload);
      if (readings.length > maxReadingsPerEvent) {
        throw new ValidationError(`DDATA with ${readings.length} readings, more than ${maxReadingsPerEvent}`);
      }
      if (readings.length > 0) {
        // every reading is already checked against the schema (decodeReadings) and the ids by the
        // topic parser: the event itself is built per batch, where a device's readings merge
        out.events.push({
          topic: telemetryReadingsV1.topic,
          key: topic.edgeNodeId,
          telemetry: {
            id: uuidFrom(digest, n++),
            source,
            subject,
            time,
            data: { ...base, deviceId: topic.deviceId, historical, readings },
          },
        });
        out.readings = readings.length;
      }
      commandResults(payload, topic.deviceId);
      break;
    }
  }
  return out;

  // Readings the agent will never send (dropped at an outbox limit, never received on the shelf
  // link): said as events so consumers can tell lost from late. A malformed report is skipped
  // alone, like a malformed command result.
  function gaps(p: Payload): void {
    let reports: ReturnType<typeof decodeGaps>;
    try {
      reports = decodeGaps(p);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      out.skipped.push('gap_report');
      return;
    }
    for (const g of reports) {
      try {
        out.events.push(
          make(telemetryGapV1, {
            ...base,
            deviceId: g.device,
            kind: g.kind,
            reason: g.reason.slice(0, 200),
            fromSeq: g.fromSeq,
            toSeq: g.toSeq,
            count: g.count,
          }),
        );
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        out.skipped.push('gap_report');
      }
    }
  }

  // A malformed command result must not cost the readings that travel with it.
  function commandResults(p: Payload, deviceId: string | undefined): void {
    let results: ReturnType<typeof decodeCommandResults>;
    try {
      results = decodeCommandResults(p);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      out.skipped.push('command_result');
      return;
    }
    for (const r of results) {
      try {
        out.events.push(
          make(commandResultV1, {
            ...base,
            ...(deviceId !== undefined ? { deviceId } : {}),
            commandId: r.id,
            status: r.status,
            ...(r.reason !== undefined ? { reason: r.reason.slice(0, 500) } : {}),
          }),
        );
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        out.skipped.push('command_result');
      }
    }
  }
}

function topicText(t: UplinkTopic): string {
  return `${t.groupId}/${t.type}/${t.edgeNodeId}${'deviceId' in t ? `/${t.deviceId}` : ''}\u0000`;
}
