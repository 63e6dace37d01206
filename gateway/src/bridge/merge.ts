import { createHash } from 'node:crypto';
import { type BvEvent, createEvent, type TelemetryReadings, telemetryReadingsV1 } from '@bitv/shared/events';

/** Most readings in one merged event (the telemetry schema allows 10,000). */
const maxReadings = 10_000;

/**
 * The telemetry events of one device (same edge node, device and historical flag) in a batch
 * become one event with their readings concatenated in arrival order, placed where the device's
 * first one was: the schema's meaning ("a batch of readings from one device, in sequence order")
 * holds, each device's readings stay in order, and Kafka stores one record instead of dozens when
 * devices send one reading per message. Consumers identify readings by (edge node, device, seq),
 * never by event id, so merging differently after a resend is harmless. Other events pass through.
 */
export function mergeTelemetry<T>(
  items: readonly T[],
  eventOf: (item: T) => BvEvent,
): { event: BvEvent; items: T[] }[] {
  const out: { event: BvEvent; items: T[]; data?: TelemetryReadings; events: BvEvent[] }[] = [];
  const open = new Map<string, (typeof out)[number]>();
  for (const item of items) {
    const event = eventOf(item);
    const data = event.type === telemetryReadingsV1.type ? (event.data as TelemetryReadings) : undefined;
    if (!data) {
      out.push({ event, items: [item], events: [event] });
      continue;
    }
    const key = `${data.groupId}/${data.edgeNodeId}/${data.deviceId}/${data.historical}`;
    const group = open.get(key);
    if (group?.data && group.data.readings.length + data.readings.length <= maxReadings) {
      if (group.events.length === 1) group.data = { ...group.data, readings: [...group.data.readings] };
      group.data.readings.push(...data.readings);
      group.items.push(item);
      group.events.push(event);
      continue;
    }
    const created = { event, items: [item], data, events: [event] };
    open.set(key, created);
    out.push(created);
  }
  return out.map((g) => {
    if (g.events.length === 1 || !g.data) return { event: g.event, items: g.items };
    const first = g.events[0]!;
    const id = createHash('sha256');
    for (const e of g.events) id.update(e.id);
    const h = id.digest('hex');
    const event = createEvent(telemetryReadingsV1, {
      id: `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`,
      source: first.source,
      key: first.partitionkey,
      ...(first.subject !== undefined ? { subject: first.subject } : {}),
      ...(first.time !== undefined ? { time: first.time } : {}),
      data: g.data,
    }) as BvEvent;
    return { event, items: g.items };
  });
}
