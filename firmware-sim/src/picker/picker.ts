import type { Logger } from '@bitv/shared';
import { Random } from '@bitv/shared/random';
import type { Timer } from '../clock/scheduler.js';
import type { SimulatedShelfHandle } from '../shelf/simulated-shelf.js';

/** What the picker sees of a shelf: its LEDs, and hands to take and put back goods. */
export type PickerShelf = Pick<SimulatedShelfHandle, 'serialNumber' | 'bins' | 'led' | 'pick' | 'restock'>;

/** The simulation's clock (virtual time). */
export interface PickerClock {
  now(): number;
  after(delayMs: number, run: () => void): Timer;
}

export interface PickerOptions {
  seed: number;
  /** Share of picks that go wrong: the neighbouring bin, or one unit too few (half each). */
  errorRate: number;
  /** A person's time from seeing a lit bin to their hand in it, uniform in [min, max] ms. */
  reachMs: { min: number; max: number };
  /** How long the hand rests on the shelf while taking (the load cell sees it). */
  handMs: number;
  /** How often the picker looks along the shelves for a lit bin. */
  scanMs: number;
  /**
   * After taking from a bin, how long the picker waits for its light to go off before believing
   * it still wants units (and taking again).
   */
  patienceMs: number;
  /** LED colour (0xRRGGBB) of a bin to pick from, and of one to put units back into. */
  pickColour: number;
  misPickColour: number;
  /**
   * Picks (1-based, counted from start) that go to the neighbouring bin whatever `errorRate`
   * says: a scripted mistake, so a demo or an end-to-end test gets exactly the mis-picks it asks for.
   */
  wrongBinPicks: readonly number[];
  /**
   * How long a bin stays lit red before the picker puts back what it took from it (a person
   * noticing late); 0 = at once. It picks nothing else meanwhile. Keeps a mis-pick alert visible.
   */
  putBackAfterMs: number;
}

export const pickerDefaults: PickerOptions = {
  seed: 1,
  errorRate: 0,
  reachMs: { min: 800, max: 2_000 },
  handMs: 600,
  scanMs: 100,
  patienceMs: 4_000,
  pickColour: 0x00ff00,
  misPickColour: 0xff0000,
  wrongBinPicks: [],
  putBackAfterMs: 0,
};

/**
 * How many units a lit bin wants: what a pick station's screen (or a pick-to-light module's
 * display) tells a person. The shelf's LED says only "here". Undefined = not known: take one,
 * and more while the light stays on.
 */
export type QuantitySource = (serialNumber: string, bin: number) => Promise<number | undefined>;

export interface PickerStats {
  picks: number;
  unitsTaken: number;
  /** Picks from the neighbouring bin, and picks one unit short, by design (`errorRate`). */
  wrongBin: number;
  shortBy1: number;
  /** Units put back into a bin lit red. */
  unitsReturned: number;
}

interface Taken {
  shelf: PickerShelf;
  bin: number;
  units: number;
}

const key = (serial: string, bin: number) => `${serial}/${bin}`;

/**
 * A person at the shelves following pick-to-light: one bin at a time, in shelf and bin order,
 * they reach for a bin lit in the pick colour, take the quantity it wants, and wait for its
 * light to go off. A bin lit red gets back what they took from it. With `errorRate` > 0 some
 * picks go wrong, seeded: the neighbouring bin, or one unit too few. Runs on the simulation's
 * virtual clock, so a seed gives the same picks.
 */
export class Picker {
  readonly stats: PickerStats = { picks: 0, unitsTaken: 0, wrongBin: 0, shortBy1: 0, unitsReturned: 0 };
  private readonly options: PickerOptions;
  private readonly random: Random;
  private readonly taken = new Map<string, Taken>();
  /** When the picker last took from each bin (virtual ms): it waits `patienceMs` for the light. */
  private readonly lastTaken = new Map<string, number>();
  /** When the picker first saw each bin it took from lit red (virtual ms), for `putBackAfterMs`. */
  private readonly redSince = new Map<string, number>();
  private busy = false;
  private timer: Timer | undefined;
  private stopped = true;

  constructor(
    private readonly shelves: readonly PickerShelf[],
    private readonly clock: PickerClock,
    private readonly quantity: QuantitySource = async () => undefined,
    options: Partial<PickerOptions> = {},
    private readonly logger?: Logger,
  ) {
    this.options = { ...pickerDefaults, ...options };
    if (!(this.options.errorRate >= 0 && this.options.errorRate <= 1))
      throw new RangeError(`picker errorRate must be in [0, 1], got ${this.options.errorRate}`);
    if (this.options.reachMs.min > this.options.reachMs.max || this.options.reachMs.min < 0)
      throw new RangeError('picker reachMs needs 0 <= min <= max');
    if (this.options.wrongBinPicks.some((n) => !Number.isInteger(n) || n < 1))
      throw new RangeError('picker wrongBinPicks are pick numbers from 1');
    if (!(this.options.putBackAfterMs >= 0)) throw new RangeError('picker putBackAfterMs must be >= 0');
    this.random = Random.derive(this.options.seed, 'picker');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.options.scanMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.after(ms, () => this.scan());
  }

  private scan(): void {
    if (this.busy) return;
    const next = this.nextBin();
    if (!next) {
      this.schedule(this.options.scanMs);
      return;
    }
    this.busy = true;
    const { min, max } = this.options.reachMs;
    this.clock.after(this.random.between(min, max), () => {
      this.act(next.shelf, next.bin, next.back)
        .catch((error: unknown) => this.logger?.warn({ err: error }, 'picker failed a pick'))
        .finally(() => {
          this.busy = false;
          this.schedule(this.options.scanMs);
        });
    });
  }

  /** Red bins the picker took from come first (put it back), then lit bins in shelf order. */
  private nextBin(): { shelf: PickerShelf; bin: number; back: boolean } | undefined {
    const now = this.clock.now();
    for (const [k, t] of this.taken) {
      if (this.colourOf(t.shelf, t.bin) !== this.options.misPickColour) continue;
      const since = this.redSince.get(k) ?? now;
      this.redSince.set(k, since);
      if (now - since >= this.options.putBackAfterMs) return { shelf: t.shelf, bin: t.bin, back: true };
      // Waiting to put units back: a person does that before reaching for anything else.
      return undefined;
    }
    for (const shelf of this.shelves) {
      for (let bin = 0; bin < shelf.bins; bin++) {
        if (this.colourOf(shelf, bin) !== this.options.pickColour) continue;
        const last = this.lastTaken.get(key(shelf.serialNumber, bin));
        if (last !== undefined && now - last < this.options.patienceMs) continue;
        return { shelf, bin, back: false };
      }
    }
    return undefined;
  }

  private colourOf(shelf: PickerShelf, bin: number): number | undefined {
    const led = shelf.led(bin);
    return led.blink === 'off' ? undefined : led.color;
  }

  private async act(shelf: PickerShelf, bin: number, back: boolean): Promise<void> {
    const k = key(shelf.serialNumber, bin);
    if (back) {
      const t = this.taken.get(k);
      if (!t) return;
      this.taken.delete(k);
      this.redSince.delete(k);
      this.stats.unitsReturned += shelf.restock(bin, t.units, this.options.handMs);
      this.logger?.info({ shelf: shelf.serialNumber, bin, units: t.units }, 'picker put units back');
      return;
    }
    // Still lit? The pick may have moved on while the person walked up.
    if (this.colourOf(shelf, bin) !== this.options.pickColour) return;
    const wanted = Math.max(1, (await this.quantity(shelf.serialNumber, bin)) ?? 1);
    let target = bin;
    let units = wanted;
    const scripted = this.options.wrongBinPicks.includes(this.stats.picks + 1);
    // The random draw happens either way, so a scripted mistake leaves the seeded ones unchanged.
    const mistake = this.random.next() < this.options.errorRate;
    if (scripted) {
      const neighbour = bin + 1 < shelf.bins ? bin + 1 : bin - 1;
      if (neighbour >= 0) {
        target = neighbour;
        this.stats.wrongBin++;
      }
    } else if (mistake) {
      const neighbour = bin + 1 < shelf.bins ? bin + 1 : bin - 1;
      if ((this.random.next() < 0.5 || wanted === 1) && neighbour >= 0) {
        target = neighbour;
        this.stats.wrongBin++;
      } else {
        units = wanted - 1;
        this.stats.shortBy1++;
      }
    }
    const moved = units > 0 ? shelf.pick(target, units, this.options.handMs) : 0;
    this.stats.picks++;
    this.stats.unitsTaken += moved;
    this.lastTaken.set(k, this.clock.now());
    if (target !== bin && moved > 0) {
      const tk = key(shelf.serialNumber, target);
      const before = this.taken.get(tk)?.units ?? 0;
      this.taken.set(tk, { shelf, bin: target, units: before + moved });
    }
    this.logger?.info(
      { shelf: shelf.serialNumber, bin: target, lit: bin, units: moved },
      'picker took units',
    );
  }
}
