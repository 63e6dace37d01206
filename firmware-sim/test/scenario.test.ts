import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, ValidationError } from '@bitv/shared';
import { Random } from '@bitv/shared/random';
import { binFlag } from '@bitv/shared/shelf-link';
import { tempDir } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/clock/scheduler.js';
import { loadScenarioFile, parseScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/schema.js';
import { applyTimeline } from '../src/scenario/timeline.js';
import { shelfOptionsFrom } from '../src/shelf/defaults.js';
import { SimulatedShelf } from '../src/shelf/simulated-shelf.js';
import { MemoryLink } from './memory-link.js';

/** Runs a scenario on memory links, on virtual time only: fast and deterministic. */
async function run(scenario: Scenario, untilMs: number) {
  const scheduler = new Scheduler({ speed: 1 });
  const links: MemoryLink[] = [];
  const shelves = scenario.shelves.map((spec, i) => {
    const random = Random.derive(scenario.seed ?? 1, `shelf-${i}`);
    const link = new MemoryLink();
    links.push(link);
    // Boot ids are random by design; seeded here so runs can be compared byte for byte.
    const bootIds = Random.derive(scenario.seed ?? 1, `boot-${i}`);
    return new SimulatedShelf(
      shelfOptionsFrom(spec, i, random, 'T'),
      link,
      scheduler,
      random,
      silentLogger,
      () => bootIds.int(1, 0xffff_ffff),
    );
  });
  for (const s of shelves) await s.start();
  applyTimeline(scenario.timeline, shelves, scheduler, silentLogger);
  // Unplug/replug are asynchronous (real links spawn processes): step in slices and let them run.
  for (let t = 0; t < untilMs; t += 250) {
    scheduler.advanceTo(t);
    await new Promise((r) => setImmediate(r));
  }
  return { shelves, links, scheduler };
}

const demo = fileURLToPath(new URL('../scenarios/demo.yaml', import.meta.url));

describe('scenarios', () => {
  it('loads the demo YAML scenario', async () => {
    const s = await loadScenarioFile(demo);
    expect(s.shelves.map((x) => x.serialNumber)).toEqual(['DEMO0001', 'DEMO0002']);
    expect(s.timeline.length).toBeGreaterThan(5);
  });

  it('loads JSON and reports every problem of an invalid file', async () => {
    const dir = await tempDir();
    try {
      const good = join(dir.path, 's.json');
      await writeFile(good, JSON.stringify({ shelves: [{ bins: 2 }] }));
      expect((await loadScenarioFile(good)).shelves).toHaveLength(1);
      const bad = join(dir.path, 's.yaml');
      await writeFile(
        bad,
        'shelves:\n  - serialNumber: "no spaces"\n    bins: 0\ntimeline:\n  - { at: 1, do: explode }\n',
      );
      const error = await loadScenarioFile(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details?.problems).toHaveLength(3);
    } finally {
      await dir.remove();
    }
  });

  it('plays picks, restocks and faults at their times', async () => {
    const scenario = parseScenario({
      seed: 5,
      shelves: [
        {
          serialNumber: 'A1',
          bins: [
            { unitWeightG: 100, count: 10 },
            { unitWeightG: 50, count: 10 },
          ],
        },
      ],
      timeline: [
        { at: 2000, do: 'pick', bin: 0, count: 3 },
        { at: 3000, do: 'restock', bin: 1, count: 4 },
        { at: 6000, do: 'garbage', bytes: 200 },
        { at: 7000, do: 'cut_frame' },
        { at: 8000, do: 'dead_cell', bin: 1, durationMs: 1000 },
        { at: 10_000, do: 'clock_jump', deltaMs: 60_000 },
        { at: 12_000, do: 'unplug', durationMs: 2000 },
        { at: 16_000, do: 'tamper', bin: 0 },
      ],
    });
    const { shelves, links } = await run(scenario, 18_000);
    const [shelf, link] = [shelves[0]!, links[0]!];
    expect(shelf.snapshot().bins.map((b) => b.count)).toEqual([7, 14]);
    const readings = link.frames.filter((f) => f.message.type === 'readings');
    const at = (deviceTime: number) =>
      readings.find((f) => f.message.type === 'readings' && f.message.deviceTimeMs >= deviceTime)!.message;
    // Boot at 250 ms: device time is virtual time - 250 until the clock jump.
    const before = at(1500);
    const after = at(5500);
    expect(before.type === 'readings' && before.weightsDg[0]! / 10).toBeCloseTo(1000, -1);
    expect(after.type === 'readings' && after.weightsDg[0]! / 10).toBeCloseTo(700, -1);
    expect(after.type === 'readings' && (after.binFlags[0]! & binFlag.stable) !== 0).toBe(true);
    // Line noise and a cut frame cost frames, never the stream [SL-RX-1].
    expect(link.decoder.badFramesTotal).toBeGreaterThanOrEqual(2);
    const events = link.frames.flatMap((f) => (f.message.type === 'event' ? [f.message.kind] : []));
    expect(events).toEqual(['cell_fault', 'cell_recovered', 'tamper']);
    // The clock jump shows as a step of 60 s plus one interval in device time.
    const times = readings.map((f) => (f.message.type === 'readings' ? f.message.deviceTimeMs : 0));
    expect(times.some((t, i) => i > 0 && t - times[i - 1]! === 60_100)).toBe(true);
    // Unplug = power gone: after the replug the controller boots again and says HELLO.
    expect(link.plugs).toBe(2);
    const hellos = link.frames.filter((f) => f.message.type === 'hello');
    expect(hellos).toHaveLength(2);
    expect(hellos[1]!.seq).toBe(0);
  });

  it('is deterministic: same seed and timeline, same bytes', async () => {
    const scenario = await loadScenarioFile(demo);
    const a = await run(scenario, 20_000);
    const b = await run(scenario, 20_000);
    const bytes = (r: typeof a) => r.links.map((l) => Buffer.concat(l.bytes).toString('hex'));
    expect(bytes(a)).toEqual(bytes(b));
    expect(a.links[0]!.frames.length).toBeGreaterThan(150);
  });
});
