/**
 * Decides when a bin's weight has settled. A load cell under a hand, or a bin still swinging after
 * a pick, reads noisy values; only a reading that belongs to a run of readings all within
 * `toleranceG` of each other, spanning at least `windowMs` (by the shelf's own timestamps), is
 * stable, and its value is the run's mean (averaging the noise away).
 */
export interface StabilityOptions {
  windowMs: number;
  /** Readings a stable run needs at least, whatever their time span. */
  minReadings: number;
  /** Readings kept per bin, bounding memory at high sample rates. */
  maxReadings: number;
}

/** At the simulator's 10 Hz: three consecutive readings within tolerance (150 ms leaves room for jitter). */
export const stabilityDefaults: StabilityOptions = { windowMs: 150, minReadings: 3, maxReadings: 256 };

interface Sample {
  t: number;
  w: number;
}

export interface StabilityVerdict {
  stable: boolean;
  /** Mean of the stable run, or the latest reading when unstable. */
  weightG: number;
}

export class StabilityDetector {
  private readonly runs = new Map<string, Sample[]>();
  private readonly options: StabilityOptions;

  constructor(options: Partial<StabilityOptions> = {}) {
    this.options = { ...stabilityDefaults, ...options };
  }

  /** Adds one reading of one bin and says whether the bin is now settled. */
  add(key: string, timeMs: number, weightG: number, toleranceG: number): StabilityVerdict {
    let run = this.runs.get(key);
    if (!run) {
      run = [];
      this.runs.set(key, run);
    }
    const last = run[run.length - 1];
    // Readings arrive in sequence order; one older than the run's end is a replay and starts nothing new.
    if (last && timeMs < last.t) return { stable: false, weightG };
    run.push({ t: timeMs, w: weightG });
    let min = weightG;
    let max = weightG;
    // Walk back from the newest reading while the band holds; everything older leaves the run.
    let start = run.length - 1;
    for (let i = run.length - 2; i >= 0; i--) {
      const w = (run[i] as Sample).w;
      const lo = Math.min(min, w);
      const hi = Math.max(max, w);
      if (hi - lo > toleranceG) break;
      min = lo;
      max = hi;
      start = i;
    }
    if (start > 0 || run.length > this.options.maxReadings) {
      run.splice(0, Math.max(start, run.length - this.options.maxReadings));
    }
    const first = run[0] as Sample;
    const stable = run.length >= this.options.minReadings && timeMs - first.t >= this.options.windowMs;
    if (!stable) return { stable: false, weightG };
    let sum = 0;
    for (const s of run) sum += s.w;
    return { stable: true, weightG: sum / run.length };
  }

  forget(key: string): void {
    this.runs.delete(key);
  }
}

/** Units in a bin from its settled weight, with how sure the rounding is (1 = exactly on a whole unit). */
export function countFromWeight(
  weightG: number,
  tareG: number,
  unitWeightG: number,
): { count: number; confidence: number } {
  const units = (weightG - tareG) / unitWeightG;
  const count = Math.max(0, Math.round(units));
  const off = Math.abs(units - count);
  const confidence = Math.max(0, Math.min(1, 1 - 2 * off));
  return { count, confidence: Math.round(confidence * 1000) / 1000 };
}
