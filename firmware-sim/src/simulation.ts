import { join } from 'node:path';
import { type Logger, type Registry, silentLogger } from '@bitv/shared';
import { Random } from '@bitv/shared/random';
import { Scheduler } from './clock/scheduler.js';
import { startControlServer } from './control/server.js';
import { type FirmataBoardHandle, startFirmataBoard } from './firmata/board.js';
import { registerSimulationMetrics } from './metrics.js';
import { Picker, type PickerOptions, type QuantitySource } from './picker/picker.js';
import { parseScenario } from './scenario/load.js';
import type { Scenario, ScenarioInput } from './scenario/schema.js';
import { applyTimeline } from './scenario/timeline.js';
import { shelfOptionsFrom } from './shelf/defaults.js';
import { SimulatedShelf, type SimulatedShelfHandle } from './shelf/simulated-shelf.js';
import { ShelfStateKeeper } from './shelf/state-keeper.js';
import type { DeviceLink } from './transport/link.js';
import { PtyLink } from './transport/pty-link.js';
import { TcpLink } from './transport/tcp-link.js';

export interface SimulationOptions {
  /** Shelves and timeline; without one, `shelves` x `bins` shelves with seeded contents. */
  scenario?: Scenario | ScenarioInput;
  shelves?: number;
  bins?: number;
  seed?: number;
  /** Virtual time per wall time (10 = ten times faster than real time). */
  speed?: number;
  /** `pty` (socat pseudo-terminals under `dir`) or `tcp` (one port per shelf on `tcpHost`). */
  transport?: 'pty' | 'tcp';
  /** Folder for the pty links: the host opens `<dir>/<serialNumber>`. Required for `pty`. */
  dir?: string;
  tcpHost?: string;
  /** Serial numbers of generated shelves are `<prefix>0001`, ... */
  serialPrefix?: string;
  /** Control API port (0 = any free port, null = no control API). */
  controlPort?: number | null;
  controlHost?: string;
  /** Also simulate a Firmata board (door contact, LED tower) on `<dir>/firmata`. */
  firmata?: boolean;
  /**
   * Shelves announce `replay` and keep readings until the host stores them (docs/shelf-link.md
   * [SL-REPLAY-1]); a scenario shelf's own `replay` wins. Default true.
   */
  replay?: boolean;
  /**
   * Shelves announce `group_led` and take `set_leds` (docs/shelf-link.md [SL-LED-2]). Default
   * true; false simulates controllers whose host must send one `set_led` per bin.
   */
  groupLed?: boolean;
  /**
   * Folder for the shelves' power-cycle state (`<stateDir>/<serialNumber>.json`: goods on the bins,
   * tare, calibration, sample rate; never the LEDs). A restarted simulation continues from it;
   * without one every start is a fresh set of shelves.
   */
  stateDir?: string;
  /**
   * A simulated person following the pick lights (firmware-sim/src/picker); seeded by `seed`
   * unless given. `quantity` tells it how many units a lit bin wants (a pick station's screen).
   */
  picker?: Partial<PickerOptions> & { quantity?: QuantitySource };
}

export interface SimulationDeps {
  logger?: Logger;
  registry?: Registry;
}

export interface Simulation {
  shelves: SimulatedShelfHandle[];
  firmata?: FirmataBoardHandle;
  control?: { url: string };
  picker?: Picker;
  /** Virtual ms since the start. */
  now(): number;
  /** Finds a shelf by serial number. */
  shelf(serialNumber: string): SimulatedShelfHandle | undefined;
  close(): Promise<void>;
}

const defaults = {
  shelves: 1,
  bins: 8,
  seed: 1,
  speed: 1,
  transport: 'pty' as const,
  tcpHost: '127.0.0.1',
  serialPrefix: 'SIM',
  controlPort: 0 as number | null,
  controlHost: '127.0.0.1',
  firmata: false,
  replay: true,
};

/**
 * Starts simulated shelf controllers (and optionally a Firmata board), each on its own link,
 * plus the HTTP control API. Everything is torn down by `close()`.
 */
export async function startSimulation(
  options: SimulationOptions,
  deps: SimulationDeps = {},
): Promise<Simulation> {
  const o = { ...defaults, ...options };
  const logger = deps.logger ?? silentLogger;
  const scenario = parseScenario(
    o.scenario ?? { shelves: Array.from({ length: o.shelves }, () => ({ bins: o.bins })) },
  );
  const seed = options.seed ?? scenario.seed ?? defaults.seed;
  const speed = options.speed ?? scenario.speed ?? defaults.speed;
  if (o.transport === 'pty' && !o.dir)
    throw new RangeError('startSimulation: `dir` is required for pty links');
  const scheduler = new Scheduler({
    speed,
    onError: (error) => logger.error({ err: error }, 'simulation event failed'),
  });
  const shelves: SimulatedShelf[] = [];
  let firmata: (FirmataBoardHandle & { close(): Promise<void> }) | undefined;
  let control: { url: string; close(): Promise<void> } | undefined;
  let keeper: ShelfStateKeeper | undefined;
  let picker: Picker | undefined;
  const close = async () => {
    picker?.stop();
    scheduler.stop();
    keeper?.close();
    await control?.close();
    await Promise.allSettled([...shelves.map((s) => s.close()), firmata?.close()]);
  };
  try {
    if (o.stateDir) keeper = new ShelfStateKeeper(o.stateDir, logger);
    const seen = new Set<string>();
    for (const [i, spec] of scenario.shelves.entries()) {
      const random = Random.derive(seed, `shelf-${i}`);
      const shelfOptions = {
        ...shelfOptionsFrom(spec, i, random, o.serialPrefix, o.replay),
        groupLed: o.groupLed ?? true,
      };
      if (seen.has(shelfOptions.serialNumber))
        throw new RangeError(`duplicate serial ${shelfOptions.serialNumber}`);
      seen.add(shelfOptions.serialNumber);
      const link: DeviceLink =
        o.transport === 'tcp'
          ? new TcpLink(o.tcpHost)
          : new PtyLink(
              join(o.dir!, shelfOptions.serialNumber),
              join(o.dir!, '.device', shelfOptions.serialNumber),
            );
      const shelf = new SimulatedShelf(shelfOptions, link, scheduler, random, logger);
      shelves.push(shelf);
      keeper?.attach(shelf);
      await shelf.start();
      logger.info({ shelf: shelf.serialNumber, path: shelf.path, bins: shelf.bins }, 'shelf simulated');
    }
    if (o.firmata) {
      if (!o.dir) throw new RangeError('startSimulation: the Firmata board needs `dir`');
      firmata = await startFirmataBoard({
        path: join(o.dir, 'firmata'),
        devicePath: join(o.dir, '.device', 'firmata'),
      });
      logger.info({ path: firmata.path }, 'firmata board simulated');
    }
    applyTimeline(scenario.timeline, shelves, scheduler, logger);
    if (deps.registry) registerSimulationMetrics(deps.registry, shelves, scheduler);
    if (o.picker) {
      const { quantity, ...pickerOptions } = o.picker;
      picker = new Picker(shelves, scheduler, quantity, { seed, ...pickerOptions }, logger);
      picker.start();
    }
    scheduler.start();
    keeper?.start();
    if (o.controlPort !== null) {
      control = await startControlServer({
        host: o.controlHost,
        port: o.controlPort,
        shelves,
        firmata,
        registry: deps.registry,
        now: () => scheduler.now(),
      });
      logger.info({ url: control.url }, 'control API listening');
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    shelves,
    firmata,
    control: control ? { url: control.url } : undefined,
    ...(picker ? { picker } : {}),
    now: () => scheduler.now(),
    shelf: (serial) => shelves.find((s) => s.serialNumber === serial),
    close,
  };
}
