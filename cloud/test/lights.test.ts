import { createEvent, type DeviceState, deviceStateV1, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveMessage } from '../src/live/hub.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

/**
 * Pick-to-light truth: a bin is lit in the cloud when the shelf ACKed the LED command, and stops
 * being lit when the shelf says otherwise (a DBIRTH after its reboot reports every LED off) or
 * goes offline (DDEATH, its gateway's NDEATH).
 */
describe('pick-to-light state follows what the shelf reports (PGlite)', () => {
  let t: TestCloud;
  let staff: string;
  const shelf = 'shelf-L1';
  const gw = 'gw-demo-1';
  const live: LiveMessage[] = [];

  beforeAll(async () => {
    t = await startTestCloud('pglite');
    staff = await t.token('staff');
    await t.cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'L1',
          bins: [
            { sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5 },
            { sku: 'NUT', unitWeightG: 20, count: 5, toleranceG: 4 },
          ],
        },
      ],
    });
    t.cloud.services.hub.subscribe({ sites: null, send: (m) => live.push(m) });
  });
  afterAll(() => t?.close());

  const lit = async (bin: number) =>
    (
      await json(
        await t.cloud.app.request(`/api/v1/shelves/${shelf}/bins/${bin}`, authed(staff, undefined, 'GET')),
      )
    ).lit;

  /** A set_led the shelf ACKed (the edge reports the command done). */
  const light = async (bin: number, color = '#ffcc00') => {
    const c = await t.cloud.services.commands.send(gw, {
      command: { action: 'set_led', bin, color, blink: 'steady' },
      deviceId: shelf,
      ttlSeconds: 30,
      requestedBy: 'test',
    });
    await t.cloud.services.commands.applyResult({
      commandId: c.id,
      groupId: 'demo-site',
      edgeNodeId: gw,
      deviceId: shelf,
      status: 'done',
    });
  };

  const state = (data: Omit<DeviceState, 'groupId' | 'edgeNodeId'>) =>
    t.eventLog.publish(
      topics.deviceState,
      createEvent(deviceStateV1, {
        source: '/test',
        key: gw,
        data: { groupId: 'demo-site', edgeNodeId: gw, ...data },
      }),
    );

  it('a DBIRTH reporting every LED off (the shelf rebooted) turns the lit bins off, live too', async () => {
    await light(0);
    await light(1, '#00FF00');
    expect(await lit(0)).toEqual({ color: '#ffcc00', blink: 'steady' });
    expect(await lit(1)).toEqual({ color: '#00ff00', blink: 'steady' });
    live.length = 0;
    await state({
      kind: 'DBIRTH',
      deviceId: shelf,
      online: true,
      serialNumber: 'L1',
      firmware: '1.4.2',
      binCount: 2,
      metrics: { 'bin/00/led': 'off', 'bin/01/led': 'off' },
    });
    await eventually(async () => (await lit(0)) === null && (await lit(1)) === null, 'lights off');
    expect(live.filter((m) => m.type === 'light')).toEqual([
      { type: 'light', siteId: 'demo-site', shelfId: shelf, bin: 0, color: null, blink: null },
      { type: 'light', siteId: 'demo-site', shelfId: shelf, bin: 1, color: null, blink: null },
    ]);
  });

  it('a DBIRTH reporting a lit LED shows it lit; one that does not know a light leaves it', async () => {
    await state({
      kind: 'DBIRTH',
      deviceId: shelf,
      online: true,
      binCount: 2,
      metrics: { 'bin/01/led': '#0000ff fast' },
    });
    await eventually(async () => (await lit(1)) !== null, 'bin 1 lit');
    expect(await lit(1)).toEqual({ color: '#0000ff', blink: 'fast' });
    // An agent without light reports (or that cannot know them) says nothing: nothing changes.
    await state({ kind: 'DBIRTH', deviceId: shelf, online: true, binCount: 2 });
    // The next birth of the same shelf is handled after those (one topic, one key: in order).
    await state({
      kind: 'DBIRTH',
      deviceId: shelf,
      online: true,
      binCount: 2,
      metrics: { 'bin/00/led': '#111111 slow' },
    });
    await eventually(async () => (await lit(0)) !== null, 'bin 0 lit');
    expect(await lit(1)).toEqual({ color: '#0000ff', blink: 'fast' });
    await state({
      kind: 'DBIRTH',
      deviceId: shelf,
      online: true,
      binCount: 2,
      metrics: { 'bin/00/led': 'off' },
    });
    await eventually(async () => (await lit(0)) === null, 'bin 0 off');
  });

  it('a shelf going offline (DDEATH) or its gateway (NDEATH) leaves no bin shown lit', async () => {
    await light(0);
    await state({ kind: 'DDEATH', deviceId: shelf, online: false });
    await eventually(
      async () => (await lit(0)) === null && (await lit(1)) === null,
      'lights unknown after DDEATH',
    );
    await light(1);
    await state({ kind: 'NBIRTH', online: true, bdSeq: 7 });
    await state({ kind: 'NDEATH', online: false, bdSeq: 7 });
    await eventually(async () => (await lit(1)) === null, 'lights unknown after NDEATH');
  });

  it('a set_led result handled after a later birth of the shelf does not light the bin again', async () => {
    await state({ kind: 'DBIRTH', deviceId: shelf, online: true, binCount: 2 });
    const c = await t.cloud.services.commands.send(gw, {
      command: { action: 'set_led', bin: 0, color: '#ff0000', blink: 'fast' },
      deviceId: shelf,
      ttlSeconds: 30,
      requestedBy: 'test',
    });
    // The shelf rebooted after the request (its birth says every LED is off) and the result of the
    // set_led is only handled now: it may be from before the reboot, so the birth stands.
    await state({
      kind: 'DBIRTH',
      deviceId: shelf,
      online: true,
      binCount: 2,
      metrics: { 'bin/00/led': 'off', 'bin/01/led': 'off' },
    });
    await eventually(async () => {
      const seen = (await t.cloud.services.registry.getShelf(shelf)).lastSeenAt;
      return seen !== null && seen >= c.createdAt;
    }, 'the later birth handled');
    await t.cloud.services.commands.applyResult({
      commandId: c.id,
      groupId: 'demo-site',
      edgeNodeId: gw,
      deviceId: shelf,
      status: 'done',
    });
    expect((await t.cloud.services.commands.get(c.id)).status).toBe('done');
    expect(await lit(0)).toBeNull();
    // A set_led requested after the birth lights the bin as usual.
    await light(0);
    expect(await lit(0)).toEqual({ color: '#ffcc00', blink: 'steady' });
  });

  it('a set_led for bin 255 lights (and turns off) every bin of the shelf', async () => {
    await light(255);
    expect([await lit(0), await lit(1)]).toEqual([
      { color: '#ffcc00', blink: 'steady' },
      { color: '#ffcc00', blink: 'steady' },
    ]);
    const c = await t.cloud.services.commands.send(gw, {
      command: { action: 'set_led', bin: 255, color: '#000000', blink: 'off' },
      deviceId: shelf,
      ttlSeconds: 30,
      requestedBy: 'test',
    });
    await t.cloud.services.commands.applyResult({
      commandId: c.id,
      groupId: 'demo-site',
      edgeNodeId: gw,
      deviceId: shelf,
      status: 'done',
    });
    expect([await lit(0), await lit(1)]).toEqual([null, null]);
  });

  it('one set_leds per shelf from setBinLights; its ACK sets every bin it names, its NACK none', async () => {
    const done = (commandId: string, status: 'done' | 'failed') =>
      t.cloud.services.commands.applyResult({
        commandId,
        groupId: 'demo-site',
        edgeNodeId: gw,
        deviceId: shelf,
        status,
        ...(status === 'failed' ? { reason: 'NACK invalid_bin' } : {}),
      });
    const [c, ...more] = await t.cloud.services.commands.setBinLights({
      shelfId: shelf,
      lights: [
        { bin: 0, light: { color: '#00FF00', blink: 'steady' } },
        { bin: 1, light: { color: '#ff0000', blink: 'fast' } },
      ],
      requestedBy: 'test',
    });
    expect(more).toEqual([]);
    expect(c!.command).toEqual({
      action: 'set_leds',
      leds: [
        { bin: 0, color: '#00FF00', blink: 'steady' },
        { bin: 1, color: '#ff0000', blink: 'fast' },
      ],
    });
    await done(c!.id, 'done');
    expect([await lit(0), await lit(1)]).toEqual([
      { color: '#00ff00', blink: 'steady' },
      { color: '#ff0000', blink: 'fast' },
    ]);
    const [refused] = await t.cloud.services.commands.setBinLights({
      shelfId: shelf,
      lights: [
        { bin: 0, light: 'off' },
        { bin: 1, light: 'off' },
      ],
      requestedBy: 'test',
    });
    await done(refused!.id, 'failed');
    expect(await lit(0)).toEqual({ color: '#00ff00', blink: 'steady' });
    // One bin: a plain set_led (agents older than set_leds understand it).
    const [single] = await t.cloud.services.commands.setBinLights({
      shelfId: shelf,
      lights: [{ bin: 1, light: 'off' }],
      requestedBy: 'test',
    });
    expect(single!.command).toEqual({ action: 'set_led', bin: 1, color: '#000000', blink: 'off' });
    await done(single!.id, 'done');
    expect(await lit(1)).toBeNull();
    // A bin the shelf does not have, or a bad colour: refused before anything is sent.
    await expect(
      t.cloud.services.commands.setBinLights({
        shelfId: shelf,
        lights: [
          { bin: 0, light: 'off' },
          { bin: 2, light: 'off' },
        ],
        requestedBy: 'test',
      }),
    ).rejects.toThrow('has no bin 2');
    await expect(
      t.cloud.services.commands.setBinLights({
        shelfId: shelf,
        lights: [{ bin: 0, light: { color: 'green', blink: 'steady' } }],
        requestedBy: 'test',
      }),
    ).rejects.toThrow(/invalid light/);
  });
});
