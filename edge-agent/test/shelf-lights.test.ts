import { startSimulation } from '@bitv/firmware-sim';
import type { CommandAction } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { type LightState, parseBinLedMetric, parseLight } from '@bitv/shared/sparkplug';
import { eventually } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverSink } from '../src/drivers/driver.js';
import { ShelfLinkDriver } from '../src/drivers/shelf-link.js';
import type { ReplayPosition } from '../src/outbox/index.js';

/** A sink that keeps what the driver says about devices and their `bin/NN/led` metrics. */
function lightSink() {
  const online: string[] = [];
  const lights = new Map<number, LightState>();
  const positions = new Map<string, ReplayPosition>();
  const sink: DriverSink & { deviceMetrics: DriverSinkMetrics } = {
    deviceOnline: (info) => online.push(info.name),
    deviceOffline: () => undefined,
    readings: (device, _rs, _seq, _first, replay) => {
      if (replay) positions.set(device, replay);
      return true;
    },
    linkGap: () => undefined,
    linkSeen: () => undefined,
    lastLinkSeq: () => null,
    replayPosition: (device) => positions.get(device) ?? null,
    duplicateReadings: () => undefined,
    badFrame: () => undefined,
    linkState: () => undefined,
    deviceMetrics: (_device, metrics) => {
      for (const m of metrics) {
        const bin = parseBinLedMetric(m.name);
        const light = parseLight(m.value);
        if (bin !== undefined && light !== undefined) lights.set(bin, light);
      }
    },
  };
  return { sink, online, lights };
}
type DriverSinkMetrics = NonNullable<ConstructorParameters<typeof ShelfLinkDriver>[1]['deviceMetrics']>;

describe('shelf-link driver: pick-to-light as the shelf has it', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('unknown for a boot it did not follow, lit after an ACKed set_led, off after the shelf reboots', async () => {
    const sim = await startSimulation({ transport: 'tcp', shelves: 1, bins: 3, controlPort: null });
    cleanups.push(() => sim.close());
    const shelf = sim.shelves[0]!;
    // The controller has booted before the agent looks (its boot HELLO went nowhere, as on USB).
    await eventually(() => shelf.snapshot().bootId !== null, 'shelf booted');
    const rec = lightSink();
    const driver = new ShelfLinkDriver({ path: shelf.path, helloTimeoutMs: 300 }, rec.sink, silentLogger);
    cleanups.push(() => driver.close());
    driver.start();
    const name = `shelf-${shelf.serialNumber}`;
    await eventually(() => driver.owns(name), 'identified');
    expect([...rec.lights.values()]).toEqual([null, null, null]);

    const led = await driver.execute(name, { action: 'set_led', bin: 1, color: '#00FF00', blink: 'steady' });
    expect(led).toEqual({ status: 'done' });
    expect(shelf.led(1)).toEqual({ color: 0x00ff00, blink: 'steady' });
    expect(rec.lights.get(1)).toEqual({ color: '#00ff00', blink: 'steady' });
    // Refused (no bin 7): nothing changes.
    await driver.execute(name, { action: 'set_led', bin: 7, color: '#ffffff', blink: 'fast' });
    expect(rec.lights.get(1)).toEqual({ color: '#00ff00', blink: 'steady' });

    // A reboot turns every LED off; the agent births the shelf again, saying so.
    const births = rec.online.length;
    expect(await driver.execute(name, { action: 'reboot' })).toEqual({ status: 'done' });
    await eventually(() => rec.online.length > births, 'born again after the reboot');
    expect(shelf.led(1).blink).toBe('off');
    expect([...rec.lights.values()]).toEqual(['off', 'off', 'off']);
  }, 30_000);

  /** An agent linked to one simulated shelf, with the sink that records its light metrics. */
  async function linked(groupLed: boolean) {
    const sim = await startSimulation({ transport: 'tcp', shelves: 1, bins: 3, controlPort: null, groupLed });
    cleanups.push(() => sim.close());
    const shelf = sim.shelves[0]!;
    const rec = lightSink();
    const driver = new ShelfLinkDriver({ path: shelf.path, helloTimeoutMs: 300 }, rec.sink, silentLogger);
    cleanups.push(() => driver.close());
    driver.start();
    const name = `shelf-${shelf.serialNumber}`;
    await eventually(() => driver.owns(name), 'identified');
    return { shelf, rec, driver, name, received: () => shelf.snapshot().counters.commandsReceived };
  }

  const pickLights = {
    action: 'set_leds',
    leds: [
      { bin: 0, color: '#00ff00', blink: 'steady' },
      { bin: 2, color: '#FF0000', blink: 'fast' },
    ],
  } satisfies CommandAction;

  it('set_leds is one COMMAND to a controller with group_led [SL-LED-2]', async () => {
    const { shelf, rec, driver, name, received } = await linked(true);
    const before = received();
    expect(await driver.execute(name, pickLights)).toEqual({ status: 'done' });
    expect(received() - before).toBe(1);
    expect(shelf.led(0)).toEqual({ color: 0x00ff00, blink: 'steady' });
    expect(shelf.led(2)).toEqual({ color: 0xff0000, blink: 'fast' });
    expect(rec.lights.get(0)).toEqual({ color: '#00ff00', blink: 'steady' });
    expect(rec.lights.get(2)).toEqual({ color: '#ff0000', blink: 'fast' });
    // A bin the shelf does not have: the whole command is refused, bin 0 stays lit.
    const refused = await driver.execute(name, {
      action: 'set_leds',
      leds: [
        { bin: 0, color: '#000000', blink: 'off' },
        { bin: 5, color: '#000000', blink: 'off' },
      ],
    });
    expect(refused).toEqual({ status: 'failed', reason: 'NACK invalid_bin' });
    expect(shelf.led(0)).toEqual({ color: 0x00ff00, blink: 'steady' });
    expect(rec.lights.get(0)).toEqual({ color: '#00ff00', blink: 'steady' });
  }, 30_000);

  it('falls back to one set_led per bin for a controller without group_led', async () => {
    const { shelf, rec, driver, name, received } = await linked(false);
    const before = received();
    expect(await driver.execute(name, pickLights)).toEqual({ status: 'done' });
    expect(received() - before).toBe(2);
    expect(shelf.led(0)).toEqual({ color: 0x00ff00, blink: 'steady' });
    expect(shelf.led(2)).toEqual({ color: 0xff0000, blink: 'fast' });
    expect(rec.lights.get(2)).toEqual({ color: '#ff0000', blink: 'fast' });
    // One bin refused, the other still set: each is its own command here.
    const partly = await driver.execute(name, {
      action: 'set_leds',
      leds: [
        { bin: 5, color: '#000000', blink: 'off' },
        { bin: 0, color: '#000000', blink: 'off' },
      ],
    });
    expect(partly).toEqual({ status: 'failed', reason: 'bin 5: NACK invalid_bin' });
    expect(shelf.led(0).blink).toBe('off');
    expect(rec.lights.get(0)).toBe('off');
  }, 30_000);
});
