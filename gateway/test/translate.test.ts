import {
  commandResultMetrics,
  deviceTopic,
  encodeDeviceBirth,
  encodeReadings,
  parseTopic,
} from '@bitv/shared/sparkplug';
import { describe, expect, it } from 'vitest';
import { buildRecords } from '../src/bridge/records.js';
import { isUplink, translate, type UplinkTopic } from '../src/bridge/translate.js';

const topic = (edge: string, device = 'shelf-1'): UplinkTopic => {
  const t = parseTopic(deviceTopic('DDATA', 'site', edge, device));
  if (!t || !isUplink(t)) throw new Error('not an uplink topic');
  return t;
};

const ddata = (seq: number, extra = false) =>
  encodeReadings([{ seq, time: 1_700_000_000_000, bins: [{ bin: 0, weightG: seq }] }], {
    seq: seq % 256,
    historical: false,
    timestamp: 1_700_000_000_000,
    ...(extra
      ? {
          extraMetrics: commandResultMetrics([
            { id: '6f1c1f5e-4a8e-4a55-9f59-4f3b1c2d3e4f', status: 'done' },
          ]),
        }
      : {}),
  });

/** The records one publish call would write for these messages, in order. */
const records = (messages: [UplinkTopic, Uint8Array][]) =>
  buildRecords(
    messages.flatMap(([t, bytes]) => translate(t, bytes, '/test').events),
    (o) => o,
  );

describe('event ids', () => {
  it('are the same when a message is sent again (after a lost PUBACK), and differ between messages', () => {
    const first = records([[topic('gw-1'), ddata(1)]]);
    const again = records([[topic('gw-1'), ddata(1)]]);
    expect(first.map((e) => e.id)).toEqual(again.map((e) => e.id));
    const other = records([[topic('gw-1'), ddata(2)]]);
    const elsewhere = records([[topic('gw-2'), ddata(1)]]);
    const ids = new Set([first[0]!.id, other[0]!.id, elsewhere[0]!.id]);
    expect(ids.size).toBe(3);
  });

  it('differ between the readings and the command results of one message', () => {
    const events = records([[topic('gw-1'), ddata(3, true)]]);
    expect(events.map((e) => e.type).sort()).toEqual(['bv.command.result.v1', 'bv.telemetry.readings.v1']);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
  });

  it('of merged readings derive from every message merged, in order', () => {
    const a: [UplinkTopic, Uint8Array] = [topic('gw-1'), ddata(4)];
    const b: [UplinkTopic, Uint8Array] = [topic('gw-1'), ddata(5)];
    const merged = records([a, b]);
    expect(merged).toHaveLength(1);
    expect((merged[0]!.data as { readings: { seq: number }[] }).readings.map((r) => r.seq)).toEqual([4, 5]);
    expect(records([a, b])[0]!.id).toBe(merged[0]!.id);
    expect(records([b, a])[0]!.id).not.toBe(merged[0]!.id);
    expect(records([a])[0]!.id).not.toBe(merged[0]!.id);
  });
});

describe('DBIRTH', () => {
  it('carries the pick-to-light state the shelf reports; unknown lights are left out', () => {
    const t = parseTopic(deviceTopic('DBIRTH', 'site', 'gw-1', 'shelf-1'));
    if (!t || !isUplink(t)) throw new Error('not an uplink topic');
    const bytes = encodeDeviceBirth(
      {
        serialNumber: '1',
        firmware: '1.4.2',
        binCount: 3,
        bins: [],
        lights: [
          { bin: 0, light: 'off' },
          { bin: 1, light: { color: '#ffcc00', blink: 'steady' } },
          { bin: 2, light: null },
        ],
      },
      1,
    );
    const [out] = translate(t, bytes, '/test').events;
    const data = out && 'event' in out ? (out.event.data as { metrics?: Record<string, unknown> }) : {};
    expect(data).toMatchObject({
      kind: 'DBIRTH',
      deviceId: 'shelf-1',
      metrics: { 'bin/00/led': 'off', 'bin/01/led': '#ffcc00 steady' },
    });
    expect(data.metrics).not.toHaveProperty('bin/02/led');
  });
});
