import { binFlag } from '@bitv/shared/shelf-link';
import { LoadCell } from '../physics/load-cell.js';

/** Samples in the window the firmware uses to decide a reading is stable. */
const STABLE_WINDOW = 5;
/** Spread (max - min) within the window, grams, below which the bin is stable. */
const STABLE_SPREAD_G = 2;

/**
 * What the controller's firmware keeps per bin: the tare offset and calibration gain applied
 * to raw counts, a short window of samples for the stability flag, and fault/overload state.
 * Tare and calibrate work on the window's mean, as HX711 libraries do.
 */
export class FirmwareBin {
  /** Raw counts that read as zero net weight. */
  tareCounts: number;
  /** Grams per count (the calibration). */
  gramsPerCount: number;
  private readonly window: number[] = [];
  fault = false;
  overload = false;
  /** Last reported net weight in 0.1 g. */
  weightDg = 0;

  constructor(
    readonly cell: LoadCell,
    calibrationError: number,
    zeroErrorG: number,
  ) {
    const o = cell.options;
    // Factory state: zeroed with the empty tray, calibrated to within `calibrationError`.
    this.gramsPerCount = (1 + calibrationError) / o.countsPerGram;
    this.tareCounts = o.zeroCounts + (o.trayWeightG + zeroErrorG) * o.countsPerGram;
  }

  /** Takes one sample; returns what changed so the firmware can raise events. */
  sample(now: number): { faultChanged: boolean; overloadStarted: boolean } {
    const raw = this.cell.sample(now);
    const wasFault = this.fault;
    const wasOverload = this.overload;
    if (raw === null) {
      this.fault = true;
      this.window.length = 0;
      this.weightDg = 0;
    } else {
      this.fault = false;
      this.window.push(raw);
      if (this.window.length > STABLE_WINDOW) this.window.shift();
      const netG = (raw - this.tareCounts) * this.gramsPerCount;
      this.weightDg = Math.max(-0x8000_0000, Math.min(0x7fff_ffff, Math.round(netG * 10)));
      this.overload = LoadCell.saturated(raw) || netG > this.cell.options.capacityG;
    }
    return { faultChanged: wasFault !== this.fault, overloadStarted: this.overload && !wasOverload };
  }

  get stable(): boolean {
    if (this.fault || this.window.length < STABLE_WINDOW) return false;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of this.window) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return (max - min) * this.gramsPerCount < STABLE_SPREAD_G;
  }

  get flags(): number {
    return (
      (this.stable ? binFlag.stable : 0) |
      (this.fault ? binFlag.fault : 0) |
      (this.overload ? binFlag.overload : 0)
    );
  }

  private mean(): number {
    return this.window.reduce((a, b) => a + b, 0) / this.window.length;
  }

  /** Makes the current load read zero. Call only when `stable`. */
  tare(): void {
    this.tareCounts = this.mean();
  }

  /**
   * Sets the gain so the current load reads `knownG`. Returns false when there is no load to
   * calibrate against (net counts at or below zero).
   */
  calibrate(knownG: number): boolean {
    const net = this.mean() - this.tareCounts;
    if (net * this.gramsPerCount < 1) return false;
    this.gramsPerCount = knownG / net;
    return true;
  }

  /** Back to a fresh window (after boot: the firmware's RAM state is gone, EEPROM is kept). */
  resetWindow(): void {
    this.window.length = 0;
    this.fault = false;
    this.overload = false;
  }
}
