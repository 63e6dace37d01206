import {
  type BvEvent,
  maxReadingsPerEvent,
  type TelemetryReadings,
  telemetryReadingsV1,
  trustedEvent,
} from '@bitv/shared/events';
import { type Digest, digestOf, uuidFrom } from './message-id.js';

/** Readings of one DDATA, already validated, waiting to become (part of) a telemetry event. */
export interface TelemetryDraft {
  /** The message as received (its topic's digest, then its bytes): the event id derives from them. */
  origin: readonly [Digest, Uint8Array];
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
 * The id of a draft sent alone is its message's digest with index 0 (`uuidFrom(digestOf(bytes,
 * topic))`), as translate.ts numbers the message's other events after it; merged drafts chain
 * the digests of all their messages in order.
 */
function telemetryEvent(drafts: readonly TelemetryDraft[]): BvEvent {
  const first = drafts[0]!;
  // the drafts of a record share a topic (buildRecords' key): the first starts from it, the rest chain
  let digest = first.origin[0];
  for (const d of drafts) digest = digestOf(d.origin[1], digest);
  const data =
    drafts.length === 1 ? first.data : { ...first.data, readings: drafts.flatMap((d) => d.data.readings) };
  // all checked at the border: each reading as it was decoded (decodeReadings), the ids by the
  // topic parser, the count by translate and the grouping above; nothing changes the data after
  return trustedEvent(telemetryReadingsV1, {
    id: uuidFrom(digest),
    source: first.source,
    key: first.data.edgeNodeId,
    subject: first.subject,
    time: first.time,
    data,
  }) as BvEvent;
}
