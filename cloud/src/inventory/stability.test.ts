import { describe, expect, it } from 'vitest';
import { countFromWeight, StabilityDetector } from './stability.js';

describe('StabilityDetector', () => {
  it('is stable only after readings stayed within tolerance for the window', () => {
    const d = new StabilityDetector({ windowMs: 200, minReadings: 2 });
    expect(d.add('b', 0, 500, 5).stable).toBe(false);
    expect(d.add('b', 100, 501, 5).stable).toBe(false);
    const v = d.add('b', 200, 499, 5);
    expect(v).toEqual({ stable: true, weightG: 500 });
  });

  it('restarts the window when a reading leaves the band, and averages the run', () => {
    const d = new StabilityDetector({ windowMs: 200, minReadings: 2 });
    for (const [t, w] of [
      [0, 500],
      [100, 500],
      [200, 500],
    ] as const)
      d.add('b', t, w, 5);
    expect(d.add('b', 300, 430, 5).stable).toBe(false); // a hand on the shelf
    expect(d.add('b', 400, 350.5, 5).stable).toBe(false);
    expect(d.add('b', 500, 349.5, 5).stable).toBe(false);
    expect(d.add('b', 600, 350, 5)).toEqual({ stable: true, weightG: 350 });
  });

  it('never stabilises on a wandering signal whose steps exceed the tolerance', () => {
    const d = new StabilityDetector({ windowMs: 200, minReadings: 2 });
    for (let i = 0; i < 50; i++)
      expect(d.add('b', i * 100, 500 + (i % 2 === 0 ? 0 : 20), 5).stable).toBe(false);
  });

  it('ignores a reading older than the run (a replay)', () => {
    const d = new StabilityDetector({ windowMs: 100, minReadings: 2 });
    d.add('b', 1000, 10, 1);
    expect(d.add('b', 500, 10, 1).stable).toBe(false);
    expect(d.add('b', 1100, 10, 1).stable).toBe(true);
  });
});

describe('countFromWeight', () => {
  it('rounds to whole units with a confidence that falls off towards half a unit', () => {
    expect(countFromWeight(350, 0, 50)).toEqual({ count: 7, confidence: 1 });
    expect(countFromWeight(1150, 800, 50)).toEqual({ count: 7, confidence: 1 });
    expect(countFromWeight(362.5, 0, 50)).toEqual({ count: 7, confidence: 0.5 });
    expect(countFromWeight(374, 0, 50).count).toBe(7);
    expect(countFromWeight(-30, 0, 50)).toEqual({ count: 0, confidence: 0 });
  });
});
