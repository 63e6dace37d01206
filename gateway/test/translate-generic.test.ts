import type { BvEvent, DeviceState, TelemetryMetrics } from '@bitv/shared/events';
import {
  deviceTopic,
  encodeDeviceBirth,
  encodePayload,
  encodeReadings,
  type Metric,
  nodeTopic,
  parseTopic,
} from '@bitv/shared/sparkplug';
import { describe, expect, it } from 'vitest';
import { isUplink, translate, type UplinkTopic } from '../src/bridge/translate.js';

const asUplink = (text: string): UplinkTopic => {
  const t = parseTopic(text);
  if (!t || !isUplink(t)) throw new Error('not an uplink topic');
  return t;
};
const device = (type: 'DBIRTH' | 'DDATA' | 'DDEATH') =>
  asUplink(deviceTopic(type, 'site', 'tahu-1', 'pump-7'));
const node = (type: 'NBIRTH' | 'NDATA') => asUplink(nodeTopic(type, 'site', 'tahu-1'));

const eventsOf = (t: UplinkTopic, bytes: Uint8Array): BvEvent[] =>
  translate(t, bytes, '/test').events.flatMap((o) => ('event' in o ? [o.event] : []));
const dataOf = <T>(events: BvEvent[], type: string): T[] =>
  events.filter((e) => e.type === type).map((e) => e.data as T);

const t0 = Date.UTC(2026, 11, 4, 12, 0, 0);
// What an Eclipse Tahu edge node sends for a device: its own metric names, none of ours.
const pumpMetrics: Metric[] = [
  { name: 'Inputs/Pressure', type: 'Double', value: 2.5, timestamp: t0 },
  { name: 'Inputs/Running', type: 'Boolean', value: true, timestamp: t0 },
  { name: 'Properties/Model', type: 'String', value: 'P-100', timestamp: t0 },
  { name: 'temperature_c', type: 'Float', value: 41.5, timestamp: t0 },
];

describe('any valid Sparkplug edge node is admitted (#13 item 8)', () => {
  it('a DBIRTH without device/bin_count is a generic device born, with its metrics', () => {
    const events = eventsOf(device('DBIRTH'), encodePayload({ timestamp: t0, seq: 1, metrics: pumpMetrics }));
    expect(dataOf<DeviceState>(events, 'bv.device-state.changed.v1')).toEqual([
      { groupId: 'site', edgeNodeId: 'tahu-1', deviceId: 'pump-7', kind: 'DBIRTH', online: true },
    ]);
    const [metrics] = dataOf<TelemetryMetrics>(events, 'bv.telemetry.metrics.v1');
    expect(metrics).toMatchObject({ deviceId: 'pump-7', kind: 'DBIRTH' });
    expect(metrics?.metrics).toEqual([
      { name: 'Inputs/Pressure', type: 'Double', value: 2.5, time: '2026-12-04T12:00:00.000Z' },
      { name: 'Inputs/Running', type: 'Boolean', value: true, time: '2026-12-04T12:00:00.000Z' },
      { name: 'Properties/Model', type: 'String', value: 'P-100', time: '2026-12-04T12:00:00.000Z' },
      { name: 'temperature_c', type: 'Float', value: 41.5, time: '2026-12-04T12:00:00.000Z' },
    ]);
  });

  it("a DDATA without reading/seq carries the device's metrics, not readings (temperature_c included)", () => {
    const bytes = encodePayload({
      timestamp: t0 + 1000,
      seq: 2,
      metrics: [
        { name: 'temperature_c', type: 'Float', value: 42, timestamp: t0 + 1000 },
        { name: 'Inputs/Pressure', type: 'Double', value: 2.75, timestamp: t0 + 1000, isHistorical: true },
      ],
    });
    const out = translate(device('DDATA'), bytes, '/test');
    expect(out.readings).toBe(0);
    const events = eventsOf(device('DDATA'), bytes);
    expect(events.map((e) => e.type)).toEqual(['bv.telemetry.metrics.v1']);
    expect(dataOf<TelemetryMetrics>(events, 'bv.telemetry.metrics.v1')[0]?.metrics).toEqual([
      { name: 'temperature_c', type: 'Float', value: 42, time: '2026-12-04T12:00:01.000Z' },
      {
        name: 'Inputs/Pressure',
        type: 'Double',
        value: 2.75,
        time: '2026-12-04T12:00:01.000Z',
        historical: true,
      },
    ]);
  });

  it("a third-party NBIRTH's own metrics travel too, the session metrics (bdSeq, Node Control) do not", () => {
    const bytes = encodePayload({
      timestamp: t0,
      seq: 0,
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: 0, timestamp: t0 },
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false, timestamp: t0 },
        { name: 'Node Info/Uptime', type: 'Int64', value: 12, timestamp: t0 },
      ],
    });
    const events = eventsOf(node('NBIRTH'), bytes);
    expect(dataOf<DeviceState>(events, 'bv.device-state.changed.v1')[0]).toMatchObject({
      kind: 'NBIRTH',
      online: true,
      bdSeq: 0,
    });
    const [metrics] = dataOf<TelemetryMetrics>(events, 'bv.telemetry.metrics.v1');
    expect(metrics).toMatchObject({ kind: 'NBIRTH', metrics: [{ name: 'Node Info/Uptime', value: 12 }] });
    expect(metrics?.deviceId).toBeUndefined();
  });

  it('bounded: a long string is cut, a non-finite number is null, metrics beyond the limit are skipped', () => {
    const many: Metric[] = Array.from({ length: 1_002 }, (_, i) => ({
      name: `m/${i}`,
      type: 'Int32',
      value: i,
      timestamp: t0,
    }));
    many[0] = { name: 'm/0', type: 'String', value: 'x'.repeat(5_000), timestamp: t0 };
    many[1] = { name: 'm/1', type: 'Double', value: Number.NaN, timestamp: t0 };
    const out = translate(device('DDATA'), encodePayload({ timestamp: t0, seq: 3, metrics: many }), '/test');
    expect(out.skipped).toEqual(['metric', 'metric']);
    const [metrics] = dataOf<TelemetryMetrics>(
      out.events.flatMap((o) => ('event' in o ? [o.event] : [])),
      'bv.telemetry.metrics.v1',
    );
    expect(metrics?.metrics).toHaveLength(1_000);
    expect(metrics?.metrics[0]?.value).toHaveLength(1_000);
    expect(metrics?.metrics[1]?.value).toBeNull();
  });

  it("our own shelf's births and readings carry no generic metrics; an extra metric of theirs does", () => {
    const birth = encodeDeviceBirth(
      { serialNumber: 'S1', firmware: '1.0', binCount: 2, bins: [{ bin: 0, weightG: 5 }], temperatureC: 20 },
      1,
      t0,
    );
    expect(eventsOf(device('DBIRTH'), birth).map((e) => e.type)).toEqual(['bv.device-state.changed.v1']);
    const readings = encodeReadings(
      [{ seq: 7, time: t0, bins: [{ bin: 0, weightG: 5 }], temperatureC: 20 }],
      {
        seq: 2,
        historical: false,
        timestamp: t0,
      },
    );
    const plain = translate(device('DDATA'), readings, '/test');
    expect(plain.readings).toBe(1);
    expect(plain.events.filter((o) => 'event' in o)).toEqual([]);
    const extra = encodeReadings([{ seq: 8, time: t0, bins: [{ bin: 0, weightG: 5 }] }], {
      seq: 3,
      historical: false,
      timestamp: t0,
      extraMetrics: [{ name: 'humidity_pct', type: 'Double', value: 40, timestamp: t0 }],
    });
    const both = translate(device('DDATA'), extra, '/test');
    expect(both.readings).toBe(1);
    expect(
      dataOf<TelemetryMetrics>(
        both.events.flatMap((o) => ('event' in o ? [o.event] : [])),
        'bv.telemetry.metrics.v1',
      )[0]?.metrics.map((m) => m.name),
    ).toEqual(['humidity_pct']);
  });
});
