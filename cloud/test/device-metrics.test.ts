import type { TelemetryMetrics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceMetrics } from '../src/registry/device-metrics.js';
import { startTestCloud, type TestCloud } from './harness.js';

/** Generic metrics of any Sparkplug device (bv.telemetry.metrics.v1), as the cloud keeps them (#13 item 8). */
let t: TestCloud;
let store: DeviceMetrics;

beforeAll(async () => {
  t = await startTestCloud('pglite');
  await t.cloud.seedDemo({ shelves: [] });
  store = new DeviceMetrics(t.cloud.services.db, silentLogger, { historyPerMetric: 3 });
});
afterAll(() => t?.close());

const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, s)).toISOString();
const event = (
  metrics: TelemetryMetrics['metrics'],
  deviceId: string | null = 'pump-7',
): TelemetryMetrics => ({
  groupId: 'demo-site',
  edgeNodeId: 'gw-demo-1',
  ...(deviceId !== null ? { deviceId } : {}),
  kind: 'DDATA',
  metrics,
});
const pressure = (s: number, value: number) => ({
  name: 'Inputs/Pressure',
  type: 'Double' as const,
  value,
  time: at(s),
});

describe('device metrics store', () => {
  it('keeps the latest value per metric: an older (late, historical) one never replaces it; redelivery adds nothing', async () => {
    expect(await store.record(event([pressure(10, 2.5)]))).toBe(true);
    await store.record(event([{ ...pressure(5, 1.0), historical: true }]));
    await store.record(event([pressure(10, 2.5)]));
    const [device] = await store.ofGateway('gw-demo-1', { deviceId: 'pump-7', history: 3 });
    expect(device?.metrics).toEqual([
      {
        name: 'Inputs/Pressure',
        type: 'Double',
        value: 2.5,
        time: at(10),
        historical: false,
        history: [
          { time: at(10), value: 2.5 },
          { time: at(5), value: 1 },
        ],
      },
    ]);
  });

  it('bounds the history per metric; the last sample of an event is the latest', async () => {
    await store.record(event([pressure(11, 3), pressure(12, 4), pressure(13, 5)]));
    const [device] = await store.ofGateway('gw-demo-1', { deviceId: 'pump-7', history: 10 });
    expect(device?.metrics[0]?.value).toBe(5);
    expect(device?.metrics[0]?.history?.map((h) => h.value)).toEqual([5, 4, 3]);
  });

  it("stores the edge node's own metrics (deviceId null) and any value type, null included", async () => {
    await store.record(
      event(
        [
          { name: 'Node Info/Vendor', type: 'String', value: 'Eclipse Tahu', time: at(1) },
          { name: 'Node Info/Ok', type: 'Boolean', value: false, time: at(1) },
          { name: 'Node Info/Unknown', type: 'Int32', value: null, time: at(1) },
        ],
        null,
      ),
    );
    const devices = await store.ofGateway('gw-demo-1');
    expect(devices.map((d) => d.deviceId)).toEqual([null, 'pump-7']);
    expect(devices[0]?.metrics.map((m) => m.value)).toEqual([false, null, 'Eclipse Tahu']);
    expect((await store.genericDevices(['gw-demo-1'])).map((d) => d.deviceId)).toEqual([null, 'pump-7']);
  });

  it('drops metrics of an unknown gateway or one in another group', async () => {
    expect(await store.record({ ...event([pressure(1, 1)]), edgeNodeId: 'gw-nobody' })).toBe(false);
    expect(await store.record({ ...event([pressure(1, 1)]), groupId: 'other-site' })).toBe(false);
  });

  it('the API: latest with history; another site is refused; ?history is checked', async () => {
    const staff = await t.token('staff');
    const res = await t.cloud.app.request('/api/v1/devices/gw-demo-1/pump-7/metrics?history=2', {
      headers: { authorization: `Bearer ${staff}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      deviceId: string;
      metrics: { value: unknown; history: unknown[] }[];
    };
    expect(body.deviceId).toBe('pump-7');
    expect(body.metrics[0]?.history).toHaveLength(2);
    const elsewhere = await t.token('staff', ['other-site']);
    const refused = await t.cloud.app.request('/api/v1/gateways/gw-demo-1/metrics', {
      headers: { authorization: `Bearer ${elsewhere}` },
    });
    expect(refused.status).toBe(403);
    const bad = await t.cloud.app.request('/api/v1/gateways/gw-demo-1/metrics?history=-1', {
      headers: { authorization: `Bearer ${staff}` },
    });
    expect(bad.status).toBe(400);
  });
});
