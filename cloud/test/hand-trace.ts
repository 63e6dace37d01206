/**
 * A deterministic shelf-weight generator for counting tests, modelled on the simulator's load-cell
 * physics (firmware-sim/src/physics/load-cell.ts; the cloud does not import the simulator): a tray
 * plus whole units, reading noise, the platform's under-damped ringing after every placement, and
 * while a hand rests on the shelf a wandering extra force with spikes. It adds what a real hand
 * does beyond the simulator's: a hand that leans in slowly and trembles while held still.
 */

import { Random } from '@bitv/shared/random';

/** How the hand behaves while it rests on the shelf. */
export type HandKind =
  /** None: the items are placed or lifted cleanly. */
  | 'none'
  /** The simulator's hand: 150-900 g, wandering ~60 g per 100 ms, spikes in 15 % of samples. */
  | 'wandering'
  /** A hand held still but leaning in (a steady 40-80 g/s drift) with a 9 Hz tremor of a few grams. */
  | 'leaning';

export interface BinTraceOptions {
  unitWeightG: number;
  count: number;
  trayWeightG: number;
  noiseG: number;
  /** Ringing time constant after a placement, ms (the simulator's 120 ms, period 160 ms). */
  settleMs: number;
}

/** One bin's cell: `sample(now)` is what it reads at shelf time `now` (ms). */
export class BinTrace {
  private items: number;
  private step: { at: number; fromG: number } | undefined;
  private hand:
    | { kind: HandKind; until: number; forceG: number; driftGPerMs: number; since: number }
    | undefined;

  constructor(
    readonly options: BinTraceOptions,
    private readonly random: Random,
  ) {
    this.items = options.count;
  }

  get count(): number {
    return this.items;
  }

  private get massG(): number {
    return this.options.trayWeightG + this.items * this.options.unitWeightG;
  }

  /** Moves `delta` items at `now`, a hand resting on the shelf for `handMs` after it. */
  change(now: number, delta: number, hand: HandKind, handMs: number): void {
    const before = this.massG;
    this.items = Math.max(0, this.items + delta);
    this.step = { at: now, fromG: before };
    this.hand =
      hand === 'none'
        ? undefined
        : {
            kind: hand,
            until: now + handMs,
            forceG: this.random.between(150, 900),
            driftGPerMs: this.random.between(0.04, 0.08) * (this.random.next() < 0.5 ? -1 : 1),
            since: now,
          };
  }

  sample(now: number): number {
    const o = this.options;
    let g = this.massG;
    if (this.step) {
      const dt = now - this.step.at;
      if (dt < o.settleMs * 8)
        g += (this.step.fromG - this.massG) * Math.exp(-dt / o.settleMs) * Math.cos((2 * Math.PI * dt) / 160);
      else this.step = undefined;
    }
    const h = this.hand;
    if (h && now < h.until) {
      if (h.kind === 'wandering') {
        h.forceG = Math.max(0, h.forceG + this.random.gaussian() * 60);
        g += h.forceG + (this.random.next() < 0.15 ? this.random.between(-300, 1500) : 0);
      } else {
        const t = now - h.since;
        g += Math.max(0, h.forceG + h.driftGPerMs * t + 3 * Math.sin((2 * Math.PI * t) / 111));
      }
    } else this.hand = undefined;
    return g + this.random.gaussian() * o.noiseG;
  }
}

export interface TraceReading {
  timeMs: number;
  weightsG: number[];
}

export interface ShelfTrace {
  readings: TraceReading[];
  /** Per bin, the true count after each change, in order (what a correct counter reports). */
  counts: number[][];
  bins: BinTrace[];
}

/**
 * A shelf of bins sampled at 10 Hz for `changes` picks and restocks per bin (1-3 items; a pick's
 * hand rests 600 ms, a restock's 1,200 ms, as the simulator's defaults), each change on a bin
 * starting 2-3 s after the previous one so the weight has settled in between.
 */
export function shelfTrace(
  seed: number,
  bins: Omit<BinTraceOptions, 'noiseG' | 'settleMs' | 'trayWeightG'>[],
  changes: number,
  hands: HandKind[],
): ShelfTrace {
  const random = new Random(seed);
  const cells = bins.map(
    (b) => new BinTrace({ ...b, trayWeightG: 800, noiseG: 0.15, settleMs: 120 }, random),
  );
  const counts = cells.map(() => [] as number[]);
  const next = cells.map(() => 1_000 + random.between(0, 1_000));
  const left = cells.map(() => changes);
  const readings: TraceReading[] = [];
  // Bounded: each bin's changes are at most 3.2 s apart, plus 3 s of settled tail.
  const endMs = 2_000 + changes * 3_200 + 3_000;
  for (let now = 0; now <= endMs; now += 100) {
    cells.forEach((cell, i) => {
      if (left[i] === 0 || now < (next[i] as number)) return;
      const pick = cell.count > 3 && random.next() < 0.5;
      const n = random.int(1, 3);
      const hand = hands[random.int(0, hands.length - 1)] as HandKind;
      cell.change(now, pick ? -n : n, hand, pick ? 600 : 1_200);
      (counts[i] as number[]).push(cell.count);
      left[i] = (left[i] as number) - 1;
      next[i] = now + 2_000 + random.between(0, 1_000) + (pick ? 0 : 600);
    });
    readings.push({ timeMs: now, weightsG: cells.map((c) => Math.round(c.sample(now) * 10) / 10) });
  }
  return { readings, counts, bins: cells };
}
