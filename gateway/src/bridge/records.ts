import { createHash } from 'node:crypto';
import {
  type BvEvent,
  maxReadingsPerEvent,
  type TelemetryReadings,
  telemetryReadingsV1,
  trustedEvent,
} from '@bitv/shared/events';

/** Readings of one DDATA, already validated, waiting to become (part of) a telemetry event. */
export interface TelemetryDraft {
  /** The message as received (its topic as text, then its bytes): the event id derives from them. */
  origin: readonly [string, Uint8Array];
  source: string;
  subject: string;
  time: Date;
  data: TelemetryReadings;
}

/** What the bridge writes for one message: a ready event, or readings merged per batch. */
export type Outgoing =
  | { topic: string; key: string; event: BvEvent }
  | { topic: string; key: string; telemetry: TelemetryDraft };

/**
 * The records for one publish call, in order. The readings of one device (same edge node, device
 * and historical flag) in the batch become one telemetry event, readings in arrival order, placed
 * where the device's first one was: the schema's meaning ("a batch of readings from one device, in
 * sequence order") holds, each device's readings stay in order, and Kafka stores one record
 * instead of dozens when devices send one reading per message. Consumers identify readings by
 * (edge node, device, seq), never by event id, so merging differently after a resend is harmless.
 * The CloudEvent is built here, once per record, not once per message.
 */
export function buildRecords<T>(items: readonly T[], outgoingOf: (item: T) => Outgoing): BvEvent[] {
  interface Group {
    drafts: TelemetryDraft[];
    readings: number;
  }
  const out: ({ event: BvEvent } | { group: Group })[] = [];
  const open = new Map<string, Group>();
  for (const item of items) {
    const o = outgoingOf(item);
    if ('event' in o) {
      out.push({ event: o.event });
      continue;
    }
    const d = o.telemetry.data;
    const key = `${d.groupId}/${d.edgeNodeId}/${d.deviceId}/${d.historical}`;
    const group = open.get(key);
    if (group && group.readings + d.readings.length <= maxReadingsPerEvent) {
      group.drafts.push(o.telemetry);
      group.readings += d.readings.length;
      continue;
    }
    const created: Group = { drafts: [o.telemetry], readings: d.readings.length };
    open.set(key, created);
    out.push({ group: created });
  }
  return out.map((r) => ('group' in r ? telemetryEvent(r.group.drafts) : r.event));
}

/**
 * One hash per record, not per message: the id of a draft sent alone is `messageId(origin, 0)`,
 * as for the message's other events; merged drafts hash all their messages in order.
 */
function telemetryEvent(drafts: readonly TelemetryDraft[]): BvEvent {
  const first = drafts[0]!;
  const hash = createHash('sha256');
  for (const d of drafts) hash.update(d.origin[0]).update(d.origin[1]);
  const data =
    drafts.length === 1 ? first.data : { ...first.data, readings: drafts.flatMap((d) => d.data.readings) };
  // all checked at the border: each reading as it was decoded (decodeReadings), the ids by the
  // topic parser, the count by translate and the grouping above; nothing changes the data after
  return trustedEvent(telemetryReadingsV1, {
    id: uuidFrom(hash.digest()),
    source: first.source,
    key: first.data.edgeNodeId,
    subject: first.subject,
    time: first.time,
    data,
  }) as BvEvent;
}

/** A UUID-shaped id (version 8: custom, RFC 9562) from a digest. */
export function uuidFrom(digest: Buffer, index = 0): string {
  const b = Buffer.from(digest.subarray(0, 16));
  b[15] = (b[15]! ^ index) & 0xff;
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
