import { exec } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type SimulatedShelfHandle, type Simulation, startSimulation } from '@bitv/firmware-sim';
import type { ConfigOf } from '@bitv/shared';
import { tempDir } from '@bitv/shared/testing';
import { ShelfLinkClient } from './client.js';
import type { hilConfig } from './config.js';

/** What the suite runs against: a real shelf on a serial port, or a simulated one on a pty. */
export interface HilTarget {
  kind: 'device' | 'simulator';
  path: string;
  baud: number;
  /** The simulated shelf, for checks only a simulator allows (LED state, line noise). */
  shelf?: SimulatedShelfHandle;
  /** Makes the port vanish and come back; undefined when the suite cannot do that. */
  powerCycle?: (whileGone: () => Promise<void>) => Promise<void>;
  open(): Promise<ShelfLinkClient>;
  close(): Promise<void>;
}

const run = promisify(exec);

/** Opens the port, retrying while it does not exist yet (after a replug), bounded. */
async function openWhenPresent(
  path: string,
  baudRate: number,
  timeoutScale: number,
  timeoutMs = 10_000,
): Promise<ShelfLinkClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ShelfLinkClient.open({ path, baudRate, timeoutScale });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function hilTarget(config: ConfigOf<typeof hilConfig>): Promise<HilTarget> {
  if (config.port) {
    const path = config.port;
    const command = config.replugCommand;
    return {
      kind: 'device',
      path,
      baud: config.baud,
      powerCycle: command
        ? async (whileGone) => {
            await run(command, { timeout: 30_000 });
            await whileGone();
          }
        : undefined,
      open: () => openWhenPresent(path, config.baud, config.timeoutScale || 1),
      close: async () => undefined,
    };
  }
  const dir = await tempDir('bv-hil-');
  let sim: Simulation;
  try {
    sim = await startSimulation({
      dir: dir.path,
      shelves: 1,
      bins: 6,
      seed: config.simSeed,
      speed: config.simSpeed,
      serialPrefix: 'HIL',
      controlPort: null,
    });
  } catch (error) {
    await dir.remove();
    throw error;
  }
  const shelf = sim.shelves[0]!;
  return {
    kind: 'simulator',
    path: shelf.path,
    baud: 115_200,
    shelf,
    powerCycle: async (whileGone) => {
      await shelf.unplug();
      if (existsSync(shelf.path)) throw new Error(`${shelf.path} still exists after unplug`);
      await whileGone();
      await shelf.replug();
    },
    open: () => openWhenPresent(shelf.path, 115_200, config.timeoutScale || 4),
    close: async () => {
      await sim.close();
      await dir.remove();
    },
  };
}
