import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tempDir } from '@bitv/shared/testing';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRMATA_PINS, type Simulation, startSimulation } from '../src/index.js';

// johnny-five and firmata.js ship no types; these are the few members the test touches.
interface FirmataIo extends EventEmitter {
  isReady: boolean;
  firmware: { name?: string };
}
interface FiveBoard extends EventEmitter {
  io: FirmataIo;
}
interface FiveLed {
  on(): void;
  off(): void;
}
interface FiveSensor extends EventEmitter {
  value: number;
}
interface Five {
  Board: new (options: Record<string, unknown>) => FiveBoard;
  Led: new (options: Record<string, unknown>) => FiveLed;
  Sensor: new (options: Record<string, unknown>) => FiveSensor;
}

const require = createRequire(import.meta.url);
const { Firmata } = require('firmata-io') as {
  Firmata: new (transport: unknown, options?: object) => FirmataIo;
};
const five = require('johnny-five') as Five;

// johnny-five drives the simulated board unchanged: firmata.js over a real pty (serialport 13).
describe('simulated Firmata board with johnny-five', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sim: Simulation;
  let port: SerialPort;
  let board: FiveBoard;

  beforeAll(async () => {
    dir = await tempDir('bv-sim-firmata-');
    sim = await startSimulation({ dir: dir.path, shelves: 1, bins: 2, firmata: true, controlPort: null });
    expect(sim.firmata?.path).toBe(join(dir.path, 'firmata'));
    port = new SerialPort({ path: sim.firmata!.path, baudRate: 57600, autoOpen: false });
    // firmata.js turns the transport's 'open' into the 'connect' johnny-five waits for before
    // 'ready': build the io first, open the port after.
    const io = new Firmata(port, { reportVersionTimeout: 1000 });
    board = new five.Board({ io, repl: false, debug: false, sigint: false, timeout: 10_000 });
    const ready = new Promise<void>((resolve, reject) => {
      board.once('ready', () => resolve());
      board.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    await ready;
  });
  afterAll(async () => {
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    await sim?.close();
    await dir?.remove();
  });

  it('completes the Firmata handshake', () => {
    expect(board.io.isReady).toBe(true);
    expect(board.io.firmware.name).toBe('BitvStandardFirmata');
  });

  it('reads the door contact as it changes', async () => {
    const door = new five.Sensor({ pin: FIRMATA_PINS.door, type: 'digital', board });
    const seen: number[] = [];
    const next = (value: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (door.value === value) {
            door.off('change', check);
            resolve();
          }
        };
        door.on('change', check);
        check();
      });
    door.on('change', () => seen.push(door.value));
    sim.firmata!.setDoorOpen(true);
    await next(1);
    sim.firmata!.setDoorOpen(false);
    await next(0);
    expect(seen.slice(-2)).toEqual([1, 0]);
  });

  it('drives the LED tower outputs', async () => {
    const red = new five.Led({ pin: FIRMATA_PINS.towerRed, board });
    const green = new five.Led({ pin: FIRMATA_PINS.towerGreen, board });
    red.on();
    await sim.firmata!.waitFor((s) => s.tower.red && !s.tower.green, 5000);
    red.off();
    green.on();
    const s = await sim.firmata!.waitFor((x) => !x.tower.red && x.tower.green, 5000);
    // johnny-five drives LEDs on PWM-capable pins (10 is one) with full duty.
    expect(s.pins[FIRMATA_PINS.towerGreen]).toEqual({ pin: FIRMATA_PINS.towerGreen, mode: 3, value: 255 });
    expect(s.pins[FIRMATA_PINS.towerRed]).toMatchObject({ mode: 1, value: 0 });
  });
});
