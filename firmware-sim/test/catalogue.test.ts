import { demoCatalogue } from '@bitv/shared/catalogue';
import { Random } from '@bitv/shared/random';
import { describe, expect, it } from 'vitest';
import { shelfOptionsFrom } from '../src/shelf/defaults.js';

describe("the simulator's default shelves", () => {
  it('hold goods of the shared demo catalogue (the cloud seed names them), different in neighbouring bins', () => {
    const weights = new Set(demoCatalogue.map((p) => p.unitWeightG));
    for (let seed = 1; seed <= 20; seed++) {
      const random = new Random(seed);
      const shelves = [0, 1, 2].map((i) => shelfOptionsFrom({ bins: 6 }, i, random, 'SIM'));
      for (const shelf of shelves) {
        const units = shelf.bins.map((b) => b.unitWeightG as number);
        expect(units.every((w) => weights.has(w))).toBe(true);
        expect(new Set(units).size).toBe(units.length);
        // Plausible stock: a shelf cell (20 kg) is never loaded past about 12 kg of goods.
        expect(shelf.bins.every((b) => (b.count as number) * (b.unitWeightG as number) <= 12_000)).toBe(true);
      }
    }
  });
});
