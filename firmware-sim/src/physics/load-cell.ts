import type { Random } from '@bitv/shared/random';

/**
 * One bin's load cell and HX711-class ADC, as physics: what the firmware would read in raw
 * counts at a given moment. Everything the firmware does with those counts (tare, calibration,
 * stability) lives in shelf/firmware-bin.ts, as it would on a real controller.
 */
export interface LoadCellOptions {
  /** Weight of one item in grams. */
  unitWeightG: number;
  /** Items on the bin at start. */
  count: number;
  /** Weight of the empty tray the cell carries (its dead load), grams. */
  trayWeightG: number;
  /** Rated capacity; above it the cell saturates and the firmware flags overload. */
  capacityG: number;
  /** Standard deviation of the reading noise, grams. */
  noiseG: number;
  /** Amplitude of the slow zero drift (temperature, creep), grams. */
  driftG: number;
  /** Period of the drift, ms. */
  driftPeriodMs: number;
  /** Time constant of the settling after a load change, ms. */
  settleMs: number;
  /** Counts per gram of the real cell (the firmware's stored gain is close to but not exactly this). */
  countsPerGram: number;
  /** ADC counts at zero load (bridge offset). */
  zeroCounts: number;
}

export const defaultLoadCell: LoadCellOptions = {
  unitWeightG: 250,
  count: 20,
  trayWeightG: 800,
  capacityG: 20_000,
  noiseG: 0.15,
  driftG: 0.3,
  driftPeriodMs: 600_000,
  settleMs: 120,
  countsPerGram: 256,
  zeroCounts: 12_000,
};

/** 24-bit ADC range. */
const ADC_MAX = 0x7f_ffff;

interface Step {
  at: number;
  fromG: number;
}

export class LoadCell {
  readonly options: LoadCellOptions;
  private items: number;
  private lastStep: Step | undefined;
  /** While a hand rests on the shelf: extra force in grams, until `handUntil`. */
  private handG = 0;
  private handUntil = -1;
  private readonly drifPhase: number;
  dead = false;

  constructor(
    options: Partial<LoadCellOptions>,
    private readonly random: Random,
  ) {
    this.options = { ...defaultLoadCell, ...options };
    this.items = this.options.count;
    this.drifPhase = random.between(0, 2 * Math.PI);
  }

  get count(): number {
    return this.items;
  }

  /** True mass on the cell (tray + items), grams, without transients. */
  get massG(): number {
    return this.options.trayWeightG + this.items * this.options.unitWeightG;
  }

  /** Net weight of the items, grams: what an ideal, tared, calibrated scale shows. */
  get netG(): number {
    return this.items * this.options.unitWeightG;
  }

  /**
   * Changes the item count at `now`; the reading settles towards the new load, and a hand rests
   * on the shelf for `handMs` before (pressing, with spikes).
   */
  change(now: number, delta: number, handMs: number): number {
    const before = this.massG;
    const next = Math.max(0, this.items + delta);
    const applied = next - this.items;
    this.items = next;
    this.lastStep = { at: now, fromG: before };
    if (handMs > 0) {
      this.handUntil = now + handMs;
      this.handG = this.random.between(150, 900);
    }
    return applied;
  }

  /** Back to `count` items at rest, as found after a power cycle (no settling, no hand). */
  restore(count: number): void {
    this.items = Math.max(0, Math.round(count));
    this.lastStep = undefined;
    this.handUntil = -1;
  }

  /** Puts an arbitrary extra load (a test weight, an item not in the catalogue). */
  setItems(now: number, count: number): void {
    this.change(now, count - this.items, 0);
  }

  /**
   * Raw ADC counts at virtual time `now` (ms), or null when the ADC does not answer (a dead
   * cell: the HX711 never signals data-ready and the firmware's read times out).
   */
  sample(now: number): number | null {
    const o = this.options;
    if (this.dead) return null;
    let g = this.massG;
    const step = this.lastStep;
    if (step) {
      const dt = now - step.at;
      if (dt < o.settleMs * 8) {
        // Under-damped spring: the platform overshoots and rings down after a placement.
        g += (step.fromG - this.massG) * Math.exp(-dt / o.settleMs) * Math.cos((2 * Math.PI * dt) / 160);
      } else this.lastStep = undefined;
    }
    if (now < this.handUntil) {
      // A hand on the shelf: a wandering extra force and short spikes.
      this.handG = Math.max(0, this.handG + this.random.gaussian() * 60);
      g += this.handG + (this.random.next() < 0.15 ? this.random.between(-300, 1500) : 0);
    }
    g += o.driftG * Math.sin((2 * Math.PI * now) / o.driftPeriodMs + this.drifPhase);
    g += this.random.gaussian() * o.noiseG;
    const counts = Math.round(o.zeroCounts + g * o.countsPerGram);
    return Math.max(-ADC_MAX - 1, Math.min(ADC_MAX, counts));
  }

  /** True when the raw value is at the rails (far above the rated load). */
  static saturated(counts: number): boolean {
    return counts >= ADC_MAX || counts <= -ADC_MAX - 1;
  }
}
