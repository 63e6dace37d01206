import { existsSync, realpathSync } from 'node:fs';
import { createRegistry } from '@bitv/shared';
import { binFlag } from '@bitv/shared/shelf-link';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulation, startSimulation } from '../src/index.js';
import { PtyHost } from './pty-host.js';

// Real pseudo-terminals from socat, opened with serialport like the edge agent opens them.
describe('simulated shelves on pseudo-terminals', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sim: Simulation;
  const registry = createRegistry();

  beforeAll(async () => {
    dir = await tempDir('bv-sim-pty-');
    sim = await startSimulation({ dir: dir.path, shelves: 2, bins: 4, seed: 3, speed: 5 }, { registry });
  });
  afterAll(async () => {
    await sim?.close();
    await dir?.remove();
  });

  it('puts each shelf on its own pty at a stable path', () => {
    expect(sim.shelves.map((s) => s.path)).toEqual([`${dir.path}/SIM0001`, `${dir.path}/SIM0002`]);
    const targets = sim.shelves.map((s) => realpathSync(s.path));
    expect(targets.every((t) => t.startsWith('/dev/pts/'))).toBe(true);
    expect(new Set(targets).size).toBe(2);
  });

  it('answers request_hello and streams readings to a host that opens the path', async () => {
    const host = await PtyHost.open(sim.shelves[0]!.path);
    try {
      const start = host.frames.length;
      host.send({ type: 'command', command: { op: 'request_hello' } });
      const hello = await host.waitFor((m) => m.type === 'hello', 'HELLO', start);
      expect(hello).toMatchObject({ serialNumber: 'SIM0001', binCount: 4 });
      await eventually(
        () => host.frames.filter((f) => f.message.type === 'readings').length >= 5,
        'readings',
      );
      expect(host.decoder.badFramesTotal).toBe(0);
    } finally {
      await host.close();
    }
  });

  it('a pick through the control API shows up in the readings', async () => {
    const host = await PtyHost.open(sim.shelves[1]!.path);
    try {
      const snap = sim.shelves[1]!.snapshot().bins[0]!;
      const res = await fetch(`${sim.control!.url}/shelves/SIM0002/bins/0/pick`, {
        method: 'POST',
        body: JSON.stringify({ count: 1, handMs: 200 }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ moved: 1, bin: { count: snap.count - 1 } });
      const target = (snap.count - 1) * snap.unitWeightG;
      await eventually(
        () =>
          host.frames.some((f) => {
            const m = f.message;
            return (
              m.type === 'readings' &&
              (m.binFlags[0]! & binFlag.stable) !== 0 &&
              Math.abs(m.weightsDg[0]! / 10 - target) < target * 0.01 + 3
            );
          }),
        `a stable reading near ${target} g`,
      );
      const bad = await fetch(`${sim.control!.url}/shelves/SIM0002/bins/9/pick`, {
        method: 'POST',
        body: '{"count":1}',
      });
      expect(bad.status).toBe(404);
      const invalid = await fetch(`${sim.control!.url}/shelves/SIM0002/bins/0/pick`, {
        method: 'POST',
        body: '{"count":-1}',
      });
      expect(invalid.status).toBe(400);
    } finally {
      await host.close();
    }
  });

  it('unplug makes the port vanish under the host; replug brings it back at the same path', async () => {
    const shelf = sim.shelves[0]!;
    const host = await PtyHost.open(shelf.path);
    await shelf.unplug();
    await eventually(() => host.closed, 'the host port to close');
    expect(existsSync(shelf.path)).toBe(false);
    await shelf.replug();
    expect(existsSync(shelf.path)).toBe(true);
    const again = await PtyHost.open(shelf.path);
    try {
      again.send({ type: 'command', command: { op: 'request_hello' } });
      await again.waitFor((m) => m.type === 'hello', 'HELLO after replug');
      expect(shelf.snapshot().counters.boots).toBe(2);
    } finally {
      await again.close();
    }
  });

  it('injects faults through the control API', async () => {
    const post = (body: unknown) =>
      fetch(`${sim.control!.url}/shelves/SIM0002/faults`, { method: 'POST', body: JSON.stringify(body) });
    const before = sim.shelves[1]!.snapshot().counters.bytesSent;
    expect((await post({ kind: 'garbage', bytes: 64 })).status).toBe(200);
    expect(sim.shelves[1]!.snapshot().counters.bytesSent - before).toBeGreaterThanOrEqual(64);
    const dead = await post({ kind: 'dead_cell', bin: 1 });
    expect(dead.status).toBe(200);
    await eventually(() => sim.shelves[1]!.snapshot().bins[1]!.fault, 'bin 1 to read as faulty');
    expect((await post({ kind: 'dead_cell', bin: 1, dead: false })).status).toBe(200);
    expect((await post({ kind: 'explode' })).status).toBe(400);
    expect(
      (await fetch(`${sim.control!.url}/shelves/NOPE/faults`, { method: 'POST', body: '{}' })).status,
    ).toBe(404);
  });

  it('serves health and metrics', async () => {
    const health = await fetch(`${sim.control!.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${sim.control!.url}/metrics`)).text();
    expect(metrics).toMatch(/bv_sim_frames_sent\{shelf="SIM0001"\} [1-9]/);
    expect(metrics).toMatch(/bv_sim_plugged\{shelf="SIM0002"\} 1/);
  });
});
