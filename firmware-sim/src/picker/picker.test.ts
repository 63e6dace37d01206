import { describe, expect, it } from 'vitest';
import { Scheduler } from '../clock/scheduler.js';
import type { LedState } from '../shelf/types.js';
import { Picker, type PickerShelf } from './picker.js';

const green = 0x00ff00;
const red = 0xff0000;

/** A shelf of counts and LEDs; a "cloud" test double reacts to its counts like fulfilment does. */
class FakeShelf implements PickerShelf {
  readonly leds: LedState[];
  readonly counts: number[];
  constructor(
    readonly serialNumber: string,
    readonly bins: number,
  ) {
    this.leds = Array.from({ length: bins }, () => ({ color: 0, blink: 'off' as const }));
    this.counts = Array.from({ length: bins }, () => 10);
  }
  led(bin: number): LedState {
    return { ...(this.leds[bin] as LedState) };
  }
  pick(bin: number, count: number): number {
    const moved = Math.min(count, this.counts[bin] as number);
    this.counts[bin] = (this.counts[bin] as number) - moved;
    return moved;
  }
  restock(bin: number, count: number): number {
    this.counts[bin] = (this.counts[bin] as number) + count;
    return count;
  }
  light(bin: number, color: number): void {
    this.leds[bin] = { color, blink: color === 0 ? 'off' : 'steady' };
  }
}

async function run(scheduler: Scheduler, untilMs: number, each?: () => void): Promise<void> {
  for (let t = scheduler.now(); t <= untilMs; t += 50) {
    scheduler.advanceTo(t);
    // Let the picker's awaited quantity lookups settle between steps of virtual time.
    await new Promise((r) => setImmediate(r));
    each?.();
  }
}

describe('picker', () => {
  it('takes the quantity a lit bin wants and leaves it once the light goes off', async () => {
    const scheduler = new Scheduler({ speed: 1 });
    const shelf = new FakeShelf('S1', 4);
    shelf.light(2, green);
    const picker = new Picker([shelf], scheduler, async (_s, bin) => (bin === 2 ? 3 : undefined), {
      seed: 7,
    });
    picker.start();
    // The "cloud": the bin's light goes off once 3 units left it.
    await run(scheduler, 10_000, () => {
      if ((shelf.counts[2] as number) <= 7) shelf.light(2, 0);
    });
    expect(shelf.counts).toEqual([10, 10, 7, 10]);
    expect(picker.stats).toMatchObject({ picks: 1, unitsTaken: 3, wrongBin: 0, shortBy1: 0 });
  });

  it('without a known quantity takes one at a time while the light stays on', async () => {
    const scheduler = new Scheduler({ speed: 1 });
    const shelf = new FakeShelf('S1', 2);
    shelf.light(0, green);
    const picker = new Picker([shelf], scheduler, undefined, { patienceMs: 1_000 });
    picker.start();
    await run(scheduler, 30_000, () => {
      if ((shelf.counts[0] as number) <= 7) shelf.light(0, 0);
    });
    expect(shelf.counts[0]).toBe(7);
    expect(picker.stats.picks).toBe(3);
  });

  it('ignores bins lit in another colour and unlit ones', async () => {
    const scheduler = new Scheduler({ speed: 1 });
    const shelf = new FakeShelf('S1', 3);
    shelf.light(1, 0x0000ff);
    const picker = new Picker([shelf], scheduler);
    picker.start();
    await run(scheduler, 5_000);
    expect(shelf.counts).toEqual([10, 10, 10]);
  });

  it('makes seeded mistakes at its error rate and puts back what a red bin asks for', async () => {
    const outcome = async (seed: number) => {
      const scheduler = new Scheduler({ speed: 1 });
      const shelf = new FakeShelf('S1', 4);
      const picker = new Picker([shelf], scheduler, async () => 2, { seed, errorRate: 1, patienceMs: 1_500 });
      shelf.light(1, green);
      picker.start();
      // The "cloud": units leaving another bin light it red until they are back; bin 1 goes off at 8.
      await run(scheduler, 60_000, () => {
        for (const b of [0, 2, 3]) shelf.light(b, (shelf.counts[b] as number) < 10 ? red : 0);
        if ((shelf.counts[1] as number) <= 8) shelf.light(1, 0);
      });
      return { counts: [...shelf.counts], stats: { ...picker.stats } };
    };
    const a = await outcome(3);
    expect(a.counts).toEqual([10, 8, 10, 10]);
    expect(a.stats.wrongBin + a.stats.shortBy1).toBe(a.stats.picks);
    expect(a.stats.unitsReturned).toBe(2 * a.stats.wrongBin);
    expect(await outcome(3)).toEqual(a);
    // Over a few seeds both kinds of mistake show up.
    const kinds = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { stats } = await outcome(seed);
      if (stats.wrongBin) kinds.add('wrongBin');
      if (stats.shortBy1) kinds.add('shortBy1');
    }
    expect(kinds).toEqual(new Set(['wrongBin', 'shortBy1']));
  });

  it('takes from the neighbouring bin on the listed picks only, and leaves a red bin alone for putBackAfterMs', async () => {
    const scheduler = new Scheduler({ speed: 1 });
    const shelf = new FakeShelf('S1', 4);
    const picker = new Picker([shelf], scheduler, async () => 2, {
      wrongBinPicks: [1],
      putBackAfterMs: 5_000,
      patienceMs: 1_500,
    });
    shelf.light(1, green);
    picker.start();
    let redAt: number | undefined;
    let returnedAt: number | undefined;
    let pickedAt: number | undefined;
    // The "cloud": units leaving another bin light it red until they are back; bin 1 goes off at 8.
    await run(scheduler, 60_000, () => {
      for (const b of [0, 2, 3]) shelf.light(b, (shelf.counts[b] as number) < 10 ? red : 0);
      if ((shelf.counts[1] as number) <= 8) shelf.light(1, 0);
      if (redAt === undefined && shelf.leds[2]?.color === red) redAt = scheduler.now();
      if (redAt !== undefined && returnedAt === undefined && shelf.counts[2] === 10)
        returnedAt = scheduler.now();
      if (pickedAt === undefined && shelf.counts[1] === 8) pickedAt = scheduler.now();
    });
    // The first pick went to bin 2 (the neighbour), the second to the lit bin; all put back.
    expect(shelf.counts).toEqual([10, 8, 10, 10]);
    expect(picker.stats).toMatchObject({ picks: 2, wrongBin: 1, shortBy1: 0, unitsReturned: 2 });
    expect((returnedAt as number) - (redAt as number)).toBeGreaterThanOrEqual(5_000);
    // Nothing else is picked while the units wait to go back.
    expect(pickedAt as number).toBeGreaterThan(returnedAt as number);
  });

  it('refuses a wrong-bin pick number below 1', () => {
    const scheduler = new Scheduler({ speed: 1 });
    expect(() => new Picker([], scheduler, undefined, { wrongBinPicks: [0] })).toThrow(RangeError);
  });

  it('refuses an error rate outside [0, 1]', () => {
    const scheduler = new Scheduler({ speed: 1 });
    expect(() => new Picker([], scheduler, undefined, { errorRate: 1.5 })).toThrow(RangeError);
  });
});
