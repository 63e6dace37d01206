import { topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countSettled,
  StabilityDetector,
  type StabilityOptions,
  stabilityDefaults,
} from '../src/inventory/stability.js';
import { type HandKind, type ShelfTrace, shelfTrace } from './hand-trace.js';
import { readingsEvent, startTestCloud, type TestCloud } from './harness.js';

/** Catalogue weights the simulator seeds from (small parts to heavy goods), as the demo seeds them. */
const catalogue = [18.5, 62.5, 250, 1500].map((unitWeightG, i) => ({ unitWeightG, count: 8 + i }));
const toleranceOf = (unitWeightG: number) => Math.max(1, Math.min(unitWeightG / 4, 20));
const trayG = 800;

interface Replay {
  /** Per bin, every count the detector reported, in order. */
  reported: number[][];
  /** Counts reported beyond the true ones (each an intermediate count that was not the shelf's). */
  wrong: number;
}

/** What the cloud's counting does with a trace, without the database: detector, then count. */
function replay(trace: ShelfTrace, options: Partial<StabilityOptions>, consistent: boolean): Replay {
  const detector = new StabilityDetector(options);
  const current = trace.bins.map((b) => b.options.count);
  const reported = trace.bins.map(() => [] as number[]);
  for (const r of trace.readings) {
    r.weightsG.forEach((w, bin) => {
      const { unitWeightG } = (trace.bins[bin] as (typeof trace.bins)[number]).options;
      const verdict = detector.add(`b${bin}`, r.timeMs, w, toleranceOf(unitWeightG));
      if (!verdict.stable) return;
      const count = consistent
        ? countSettled(verdict, trayG, unitWeightG).count
        : countSettled({ ...verdict, minG: verdict.weightG, maxG: verdict.weightG }, trayG, unitWeightG)
            .count;
      if (count === undefined || count === current[bin]) return;
      current[bin] = count;
      (reported[bin] as number[]).push(count);
    });
  }
  const wrong = reported.reduce(
    (n, counts, bin) => n + counts.length - (trace.counts[bin] as number[]).length,
    0,
  );
  return { reported, wrong };
}

describe('counting from shelf weight with a hand on the shelf', () => {
  const hands: HandKind[] = ['wandering', 'leaning'];
  // 4 bins x 150 changes, each with a hand: the simulator's wandering one or a still, leaning one.
  const trace = shelfTrace(7, catalogue, 150, hands);

  it('reports exactly the true counts, none of what the hand made the shelf weigh meanwhile', () => {
    const { reported } = replay(trace, stabilityDefaults, true);
    expect(reported).toEqual(trace.counts);
  });

  it('is a trace the former 150 ms / 3 readings band check alone gets wrong', () => {
    // Proof the trace bites: without the longer window, trend, scatter and consistency checks the
    // same readings produce intermediate counts that are not the shelf's.
    const former = replay(
      trace,
      {
        windowMs: 150,
        minReadings: 3,
        maxTrend: Number.POSITIVE_INFINITY,
        maxScatter: Number.POSITIVE_INFINITY,
      },
      false,
    );
    expect(former.wrong).toBeGreaterThan(10);
  });

  it('still counts clean picks and restocks, each once and within 1.5 s of shelf time', () => {
    const clean = shelfTrace(11, catalogue, 40, ['none']);
    const detector = new StabilityDetector();
    const { reported } = replay(clean, {}, true);
    expect(reported).toEqual(clean.counts);
    // Shelf time (the readings' own timestamps), not wall time: the ringing of 3 x 1.5 kg settles
    // into the 20 g band in ~0.6 s, then the 400 ms window.
    const bin = 3;
    const unitWeightG = (clean.bins[bin] as (typeof clean.bins)[number]).options.unitWeightG;
    let lastWeight: number | undefined;
    let changedAt: number | undefined;
    let worst = 0;
    let count = (clean.bins[bin] as (typeof clean.bins)[number]).options.count;
    for (const r of clean.readings) {
      const w = r.weightsG[bin] as number;
      if (lastWeight !== undefined && Math.abs(w - lastWeight) > unitWeightG / 2 && changedAt === undefined)
        changedAt = r.timeMs;
      lastWeight = w;
      const verdict = detector.add('b', r.timeMs, w, toleranceOf(unitWeightG));
      if (!verdict.stable) continue;
      const next = countSettled(verdict, trayG, unitWeightG).count;
      if (next === undefined || next === count) continue;
      count = next;
      if (changedAt !== undefined) worst = Math.max(worst, r.timeMs - changedAt);
      changedAt = undefined;
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1_500);
  });
});

describe('counting through the cloud (PGlite, database event log)', () => {
  let t: TestCloud;
  const shelf = 'shelf-H1';
  const gw = 'gw-demo-1';
  let seq = 1;

  beforeAll(async () => {
    t = await startTestCloud('pglite');
    await t.cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'H1',
          bins: catalogue.map((b, i) => ({ sku: `H-${i}`, ...b, tareG: trayG })),
        },
      ],
    });
  });
  afterAll(() => t?.close());

  const movements = async (bin: number) =>
    (
      (await t.database.kysely
        .selectFrom('stock_movements' as never)
        .select(['count' as never, 'shelf_id' as never, 'bin' as never])
        .where('reason' as never, '=', 'weight' as never)
        .where('shelf_id' as never, '=', shelf as never)
        .where('bin' as never, '=', bin as never)
        .orderBy('id' as never)
        .execute()) as { count: number }[]
    ).map((m) => m.count);

  /** Sends the trace in 1 s batches, as an edge agent would, with seqs following the last ones sent. */
  const send = async (trace: ShelfTrace, offsetMs: number) => {
    for (let i = 0; i < trace.readings.length; i += 10) {
      const batch = trace.readings.slice(i, i + 10).map((r) => ({
        seq: seq++,
        time: new Date(offsetMs + r.timeMs).toISOString(),
        bins: r.weightsG.map((weightG, bin) => ({ bin, weightG })),
      }));
      await t.eventLog.publish(topics.telemetry, readingsEvent(gw, shelf, batch));
    }
  };

  /**
   * Waits for each bin's movements as well as its final count: a trace can pass through its final
   * count earlier (17, 14, 16, 14, 17), and the count alone would end the wait there.
   */
  const settledOn = async (trace: ShelfTrace, before: readonly number[][] = []) => {
    for (const [bin, cell] of trace.bins.entries()) {
      const moves = (before[bin]?.length ?? 0) + (trace.counts[bin]?.length ?? 0);
      await eventually(
        async () =>
          (await movements(bin)).length >= moves &&
          (await t.cloud.services.inventory.bin(shelf, bin)).count === cell.count,
        `bin ${bin} at ${cell.count} after ${moves} movements`,
      );
    }
  };

  const weightEvents = () =>
    t
      .published(topics.inventory)
      .filter(
        (e) =>
          e.type === 'bv.inventory.stock-changed.v1' &&
          (e.data as { shelfId: string; reason: string }).shelfId === shelf &&
          (e.data as { reason: string }).reason === 'weight',
      );
  let handTrace: ShelfTrace | undefined;
  const startMs = Date.now() - 600_000;

  it('moves stock only to the true counts while hands rest on the shelf, and ends right', async () => {
    const trace = shelfTrace(21, catalogue, 12, ['wandering', 'leaning']);
    handTrace = trace;
    await send(trace, startMs);
    await settledOn(trace);
    for (const bin of trace.bins.keys()) expect(await movements(bin)).toEqual(trace.counts[bin]);
    const expected = trace.counts.reduce((n, c) => n + c.length, 0);
    await eventually(() => weightEvents().length >= expected, 'stock-changed events');
    expect(
      weightEvents()
        .map((e) => (e.data as { count: number }).count)
        .sort(),
    ).toEqual(trace.counts.flat().sort());
  });

  it('counts a clean pick once, with full confidence', async () => {
    const previous = handTrace;
    if (!previous) throw new Error('runs after the hand test');
    const before = await Promise.all(catalogue.map((_, bin) => movements(bin)));
    // The same bins where the hand test left them, one clean change each.
    const trace = shelfTrace(
      31,
      catalogue.map((b, bin) => ({
        ...b,
        count: (previous.bins[bin] as (typeof previous.bins)[number]).count,
      })),
      1,
      ['none'],
    );
    await send(trace, startMs + (previous.readings.at(-1)?.timeMs ?? 0) + 100);
    await settledOn(trace, before);
    for (const bin of trace.bins.keys()) {
      expect(await movements(bin)).toEqual([
        ...(before[bin] as number[]),
        ...(trace.counts[bin] as number[]),
      ]);
      expect((await t.cloud.services.inventory.bin(shelf, bin)).confidence).toBeGreaterThan(0.9);
    }
  });
});
