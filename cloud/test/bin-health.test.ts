import { createEvent, deviceStateV1, type Reading, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessCookie } from '../src/api/authenticate.js';
import type { Alert, BinView } from '../src/inventory/inventory.js';
import type { LiveMessage } from '../src/live/hub.js';
import { readingsEvent, startTestCloud, steadyReadings, type TestCloud } from './harness.js';

/**
 * Faulty hardware made visible (issue #12): a dead load cell, an unplugged shelf and an uncertain
 * count each show on the bin and raise an alert through the alert path, and clear when the cause does.
 */
describe('bin health: dead cells, offline shelves, uncertain counts (PGlite)', () => {
  let t: TestCloud;
  const gw = 'gw-demo-1';
  const shelf = 'shelf-H1';
  const live: LiveMessage[] = [];
  let seq = 0;
  let clock = Date.now() - 60_000;

  /** Settled readings; `weights[bin] === null` leaves the bin out, as the agent does for a faulty cell. */
  const send = async (weights: (number | null)[], readings = 6) => {
    const batch: Reading[] = steadyReadings(seq, clock, [], readings).map((r) => ({
      ...r,
      bins: weights.flatMap((weightG, bin) => (weightG === null ? [] : [{ bin, weightG }])),
    }));
    seq += readings;
    clock += readings * 100;
    await t.eventLog.publish(topics.telemetry, readingsEvent(gw, shelf, batch));
    return batch;
  };
  const state = (kind: 'DBIRTH' | 'DDEATH') =>
    t.eventLog.publish(
      topics.deviceState,
      createEvent(deviceStateV1, {
        source: '/test',
        key: gw,
        data: {
          groupId: 'demo-site',
          edgeNodeId: gw,
          deviceId: shelf,
          kind,
          online: kind === 'DBIRTH',
          ...(kind === 'DBIRTH' ? { serialNumber: 'H1', binCount: 3 } : {}),
        },
      }),
    );
  const bins = async (): Promise<BinView[]> =>
    (await t.cloud.services.inventory.binsOfSite('demo-site')).filter((b) => b.shelfId === shelf);
  const health = async () => (await bins()).map((b) => b.health);
  const open = async (): Promise<[string | null, number, Alert['kind']][]> =>
    (await t.cloud.services.inventory.alerts('demo-site', 'open'))
      .map((a): [string | null, number, Alert['kind']] => [a.sku, a.bin, a.kind])
      .sort((a, b) => a[1] - b[1]);

  beforeAll(async () => {
    t = await startTestCloud('pglite');
    t.cloud.services.hub.subscribe({ sites: null, send: (m) => live.push(m) });
    await t.cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'H1',
          bins: [
            { sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5, lowStockThreshold: 1 },
            // 4.2 g: 3 units weigh 12.600000000000001 g in floating point.
            { sku: 'WASHER', unitWeightG: 4.2, count: 3, toleranceG: 1, lowStockThreshold: 1 },
            { sku: 'NUT', unitWeightG: 20, count: 5, toleranceG: 4, lowStockThreshold: 1 },
          ],
        },
      ],
    });
    await state('DBIRTH');
    await eventually(async () => (await t.cloud.services.registry.getShelf(shelf)).online, 'shelf online');
    // Trays of 800.03 g: the first settled weight fixes each tare.
    await send([1300.03, 812.63, 900.03]);
    await eventually(async () => (await bins()).every((b) => b.weighed), 'weighed');
  });
  afterAll(() => t?.close());

  it('keeps tares at the shelf link resolution (0.1 g), not float noise', async () => {
    expect((await bins()).map((b) => b.tareG)).toEqual([800, 800, 800]);
    expect(await health()).toEqual(['ok', 'ok', 'ok']);
    expect((await bins()).every((b) => b.weighedAt !== null)).toBe(true);
  });

  it('shows a dead cell and alerts, and clears both when the cell works again', async () => {
    const before = (await bins())[1]?.weighedAt;
    await send([1300, null, 900]);
    await eventually(async () => (await health())[1] === 'cell_fault', 'cell fault shown');
    expect(await health()).toEqual(['ok', 'cell_fault', 'ok']);
    expect(await open()).toEqual([['WASHER', 1, 'cell_fault']]);
    // The count does not pretend to be current: it keeps the time of the last weight.
    expect((await bins())[1]?.weighedAt).toBe(before);
    expect(live).toContainEqual(
      expect.objectContaining({ type: 'alert', kind: 'cell_fault', status: 'open', shelfId: shelf, bin: 1 }),
    );
    expect(live).toContainEqual(
      expect.objectContaining({ type: 'bin-health', shelfId: shelf, bin: 1, health: 'cell_fault' }),
    );
    // Still dead: no second alert.
    await send([1300, null, 900]);
    await send([1300, 812.6, 900]);
    await eventually(async () => (await health())[1] === 'ok', 'cell fault cleared');
    expect(await open()).toEqual([]);
    expect(live).toContainEqual(
      expect.objectContaining({ type: 'alert', kind: 'cell_fault', status: 'cleared', bin: 1 }),
    );
    const all = await t.cloud.services.inventory.alerts('demo-site', 'all');
    expect(all.filter((a) => a.kind === 'cell_fault')).toHaveLength(1);
    // Other services (webhooks, analytics) learn it from bv.inventory.
    await eventually(
      () =>
        t
          .published(topics.inventory)
          .filter((e) => e.type === 'bv.inventory.hardware-alert.v1')
          .map((e) => `${(e.data as { kind: string }).kind} ${(e.data as { status: string }).status}`)
          .join(',') === 'cell_fault open,cell_fault cleared',
      'hardware alert events',
    );
  });

  it('shows an unplugged shelf offline on every bin, with alerts, until it is born again', async () => {
    await state('DDEATH');
    await eventually(async () => (await health()).every((h) => h === 'shelf_offline'), 'offline shown');
    // The registry marks the shelf offline, then the alerts follow in their own transaction.
    await eventually(async () => (await open()).length === 3, 'offline alerts open');
    expect(await open()).toEqual([
      ['BOLT', 0, 'shelf_offline'],
      ['WASHER', 1, 'shelf_offline'],
      ['NUT', 2, 'shelf_offline'],
    ]);
    expect(live).toContainEqual(
      expect.objectContaining({ type: 'bin-health', shelfId: shelf, bin: 0, health: 'shelf_offline' }),
    );
    await state('DDEATH'); // a repeated death opens nothing more
    await state('DBIRTH');
    await eventually(async () => (await health()).every((h) => h === 'ok'), 'online again');
    await eventually(async () => (await open()).length === 0, 'offline alerts cleared');
    const all = await t.cloud.services.inventory.alerts('demo-site', 'all');
    expect(all.filter((a) => a.kind === 'shelf_offline').map((a) => a.status)).toEqual([
      'cleared',
      'cleared',
      'cleared',
    ]);
  });

  it('shows a gateway whose agent cannot open a serial port degraded, with why, until it can', async () => {
    const node = (kind: 'NBIRTH' | 'NDATA', linksDown: number, linkError: string) =>
      t.eventLog.publish(
        topics.deviceState,
        createEvent(deviceStateV1, {
          source: '/test',
          key: gw,
          data: {
            groupId: 'demo-site',
            edgeNodeId: gw,
            kind,
            online: true,
            ...(kind === 'NBIRTH' ? { bdSeq: 1 } : {}),
            metrics: { 'links/down': linksDown, 'links/error': linkError },
          },
        }),
      );
    const staff = await t.token('staff');
    const page = async (path: string) =>
      (await t.cloud.app.request(path, { headers: { cookie: `${accessCookie}=${staff}` } })).text();
    await node('NBIRTH', 1, 'serial:/dev/ttyNOPE: No such file or directory');
    await eventually(
      async () => (await t.cloud.services.registry.getGateway(gw)).linksDown === 1,
      'degraded',
    );
    expect(await t.cloud.services.registry.getGateway(gw)).toMatchObject({
      linksDown: 1,
      linkError: 'serial:/dev/ttyNOPE: No such file or directory',
    });
    expect(live).toContainEqual(expect.objectContaining({ type: 'gateway', gatewayId: gw, linksDown: 1 }));
    const warehouse = await page('/sites/demo-site');
    expect(warehouse).toMatch(/data-testid="degraded-gw-demo-1"(?![^>]*hidden)/);
    expect(warehouse).toContain('serial:/dev/ttyNOPE: No such file or directory');
    const fleet = await page('/fleet');
    expect(fleet).toMatch(/data-testid="gateway-degraded-gw-demo-1"(?![^>]*hidden)/);
    // The port opens: the next health report says so.
    await node('NDATA', 0, '');
    await eventually(async () => (await t.cloud.services.registry.getGateway(gw)).linksDown === 0, 'healthy');
    expect((await t.cloud.services.registry.getGateway(gw)).linkError).toBeNull();
    expect(await page('/sites/demo-site')).toMatch(/data-testid="degraded-gw-demo-1"[^>]*hidden/);
  });

  it('flags a count whose settled weight lies between whole units, and clears it on a whole one', async () => {
    // 10 bolts weigh 500 g net; 480 g is 9.6 units: counted 10, confidence 0.2.
    await send([1280, 812.6, 900]);
    await eventually(async () => (await health())[0] === 'low_confidence', 'low confidence shown');
    expect(await open()).toEqual([['BOLT', 0, 'low_confidence']]);
    await send([1300, 812.6, 900]);
    await eventually(async () => (await health())[0] === 'ok', 'confident again');
    expect(await open()).toEqual([]);
  });
});
