import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { type Command, type DecodedFrame, encodeFrame, FrameDecoder } from '@bitv/shared/shelf-link';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimulationOptions, startSimulation } from '../src/index.js';

/** A host on a TCP shelf that sends commands and waits for their ACK. */
async function host(url: string) {
  const { hostname, port } = new URL(url);
  const socket = new Socket();
  const decoder = new FrameDecoder();
  const frames: DecodedFrame[] = [];
  socket.on('data', (chunk) => frames.push(...decoder.push(chunk)));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(Number(port), hostname, () => resolve());
  });
  let seq = 0;
  return {
    async command(command: Command) {
      const s = seq++;
      socket.write(encodeFrame({ type: 'command', command }, s));
      await eventually(
        () => frames.some((f) => f.message.type === 'ack' && f.message.commandSeq === s),
        `ACK of ${command.op}`,
      );
    },
    close: () => socket.destroy(),
  };
}

describe('simulated shelves keep their state across simulator restarts (stateDir)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const options = (stateDir?: string): SimulationOptions => ({
    transport: 'tcp',
    shelves: 1,
    bins: 3,
    seed: 4,
    speed: 5,
    controlPort: null,
    ...(stateDir ? { stateDir } : {}),
  });

  it('picks, restocks, tare and sample rate survive a restart; the LEDs come back off', async () => {
    const dir = await tempDir('bv-sim-state-');
    cleanups.push(dir.remove);
    const first = await startSimulation(options(dir.path));
    const shelf = first.shelves[0]!;
    const fresh = shelf.snapshot().bins.map((b) => b.count);
    expect(shelf.pick(0, 2)).toBe(2);
    expect(shelf.restock(1, 3)).toBe(3);
    // Written on change, not only at close: a crash right after a pick keeps it.
    const file = join(dir.path, `${shelf.serialNumber}.json`);
    await eventually(
      async () => existsSync(file) && (await readFile(file, 'utf8')).includes('"count"'),
      'state file',
    );
    const saved = JSON.parse(await readFile(file, 'utf8')) as { bins: { count: number }[] };
    expect(saved.bins.map((b) => b.count)).toEqual([fresh[0]! - 2, fresh[1]! + 3, fresh[2]]);

    await eventually(() => shelf.snapshot().bootId !== null, 'booted');
    const h = await host(shelf.path);
    await h.command({ op: 'set_sample_rate', milliHz: 5_000 });
    await h.command({ op: 'set_led', bin: 0, color: 0xffcc00, blink: 'steady' });
    await h.command({ op: 'tare', bin: 2 });
    h.close();
    expect(shelf.led(0)).toEqual({ color: 0xffcc00, blink: 'steady' });
    await first.close();

    const second = await startSimulation(options(dir.path));
    cleanups.push(() => second.close());
    const again = second.shelves[0]!;
    const snap = again.snapshot();
    expect(snap.bins.map((b) => b.count)).toEqual([fresh[0]! - 2, fresh[1]! + 3, fresh[2]]);
    expect(snap.sampleRateMilliHz).toBe(5_000);
    expect(again.led(0)).toEqual({ color: 0, blink: 'off' });
    // The tare is kept: bin 2 still reads (about) zero with its goods on it.
    await eventually(() => again.snapshot().bins[2]!.stable, 'bin 2 settled');
    expect(Math.abs(again.snapshot().bins[2]!.reportedG)).toBeLessThan(5);
    expect(again.snapshot().bins[1]!.reportedG).toBeGreaterThan(100);
  }, 30_000);

  it('a damaged state file is reported and set aside; the shelf starts fresh and the simulator runs', async () => {
    const dir = await tempDir('bv-sim-state-');
    cleanups.push(dir.remove);
    const reference = await startSimulation(options());
    const seeded = reference.shelves[0]!.snapshot().bins.map((b) => b.count);
    const serial = reference.shelves[0]!.serialNumber;
    await reference.close();

    const file = join(dir.path, `${serial}.json`);
    for (const damage of [
      '{"version":1,"serialNu',
      JSON.stringify({ version: 1, serialNumber: serial, bins: [] }),
    ]) {
      await writeFile(file, damage);
      const sim = await startSimulation(options(dir.path));
      expect(sim.shelves[0]!.snapshot().bins.map((b) => b.count)).toEqual(seeded);
      expect(await readFile(`${file}.corrupt`, 'utf8')).toBe(damage);
      await sim.close();
      // The fresh state replaced it.
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 1, serialNumber: serial });
    }
  }, 30_000);
});
