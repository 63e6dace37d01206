import { randomUUID } from 'node:crypto';
import { type Simulation, startSimulation } from '@bitv/firmware-sim';
import { decodeReadings, encodeCommands } from '@bitv/shared/sparkplug';
import { eventually, mosquittoUrl, serverAvailable, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeAgentHandle } from '../src/agent.js';
import type { EdgeConfig } from '../src/config.js';
import { TestSubscriber } from './harness/subscriber.js';
import { startTestAgent, testConfig } from './helpers.js';

/** The agent against the firmware simulator (`@bitv/firmware-sim`) on pseudo-terminals. */
describe.skipIf(!(await serverAvailable('mosquitto')))('edge agent with the firmware simulator', () => {
  let dir: { path: string; remove(): Promise<void> };
  let sim: Simulation;
  let sub: TestSubscriber;
  let config: EdgeConfig;
  let agent: EdgeAgentHandle;
  let metric: (name: string) => Promise<number>;

  beforeAll(async () => {
    dir = await tempDir('bv-edge-sim-');
    sim = await startSimulation({
      dir: dir.path,
      shelves: 2,
      bins: 4,
      seed: 7,
      speed: 1,
      controlPort: null,
      firmata: true,
    });
    config = testConfig(dir.path, mosquittoUrl(), {
      serialPorts: sim.shelves.map((s) => s.path),
      firmataPort: `${dir.path}/firmata`,
      firmataInputs: ['2'],
      firmataOutputs: ['8'],
    });
    sub = new TestSubscriber(mosquittoUrl(), config.groupId);
    await sub.start();
    const started = await startTestAgent(config);
    agent = started.agent;
    metric = started.metric;
  });

  afterAll(async () => {
    await agent?.close();
    await sub?.close();
    await sim?.close();
    await dir?.remove();
  });

  const deviceOf = (i: number) => `shelf-${sim.shelves[i]!.serialNumber}`;
  const births = (device: string) =>
    sub.messages.filter((m) => m.type === 'DBIRTH' && m.device === device).length;
  const dcmd = (device: string) => `spBv1.0/${config.groupId}/DCMD/${config.edgeNodeId}/${device}`;

  it('births every shelf and streams readings that match the shelf', async () => {
    await eventually(
      () => sub.count(deviceOf(0)) >= 20 && sub.count(deviceOf(1)) >= 20,
      'readings from both shelves',
      20_000,
    );
    const latest = [...sub.readings.get(deviceOf(0))!.values()].at(-1)!.reading;
    expect(latest.bins.map((b) => b.bin)).toEqual([0, 1, 2, 3]);
    const snap = sim.shelves[0]!.snapshot();
    for (const b of latest.bins) expect(Math.abs(b.weightG - snap.bins[b.bin]!.reportedG)).toBeLessThan(50);
    expect(sub.seqErrors).toEqual([]);
  }, 30_000);

  it('sets a pick-to-light LED and reports NACKs', async () => {
    const led = randomUUID();
    const bad = randomUUID();
    await sub.publish(
      dcmd(deviceOf(1)),
      encodeCommands({
        commands: [
          { id: led, action: { action: 'set_led', bin: 2, color: '#00ff00', blink: 'slow' } },
          { id: bad, action: { action: 'tare', bin: 9 } },
        ],
      }),
    );
    await eventually(
      () => sub.results.some((r) => r.id === led) && sub.results.some((r) => r.id === bad),
      'results',
    );
    expect(sub.results.find((r) => r.id === led)!.status).toBe('done');
    expect(sub.results.find((r) => r.id === bad)).toMatchObject({
      status: 'failed',
      reason: 'NACK invalid_bin',
    });
    expect(sim.shelves[1]!.led(2)).toEqual({ color: 0x00ff00, blink: 'slow' });
  }, 20_000);

  it('survives garbage, and an unplug: DDEATH, then reopen, HELLO again, DBIRTH, readings resume', async () => {
    const shelf = sim.shelves[0]!;
    const device = deviceOf(0);
    const readingsBefore = sub.count(device);
    shelf.injectGarbage(64);
    shelf.cutFrame();
    await eventually(async () => (await metric('bv_edge_serial_bad_frames_total')) > 0, 'bad frames counted');
    await eventually(() => sub.count(device) > readingsBefore + 5, 'readings after garbage');
    const before = births(device);
    await shelf.unplug();
    await eventually(
      () => sub.messages.some((m) => m.type === 'DDEATH' && m.device === device),
      'DDEATH',
      15_000,
    );
    await shelf.replug();
    await eventually(() => births(device) > before, 'DBIRTH after replug', 20_000);
    const count = sub.count(device);
    await eventually(() => sub.count(device) > count + 10, 'readings after replug', 15_000);
    expect(agent.status().links.find((l) => l.link.endsWith(shelf.path))!.up).toBe(true);
  }, 60_000);

  it('drives the Firmata board from commands and reports its inputs', async () => {
    const board = `board-${config.edgeNodeId}`;
    await eventually(() => births(board) > 0, 'board DBIRTH', 20_000);
    const id = randomUUID();
    await sub.publish(
      dcmd(board),
      encodeCommands({
        commands: [{ id, action: { action: 'set_led', bin: 8, color: '#ff0000', blink: 'steady' } }],
      }),
    );
    await eventually(() => sub.results.find((r) => r.id === id)?.status === 'done', 'board command done');
    await sim.firmata!.waitFor((s) => s.tower.red, 5000);
    sim.firmata!.setDoorOpen(true);
    await eventually(
      () =>
        sub.messages.some(
          (m) =>
            m.type === 'DDATA' &&
            m.device === board &&
            m.payload.metrics.some((x) => x.name === 'pin/2' && x.value === true),
        ),
      'door open reported',
      10_000,
    );
    // Board data is state, not readings: nothing in the outbox for it.
    expect(
      decodeReadings(sub.messages.filter((m) => m.device === board && m.type === 'DDATA')[0]!.payload)
        .readings,
    ).toEqual([]);
  }, 40_000);
});
