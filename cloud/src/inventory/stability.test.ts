import { describe, expect, it } from 'vitest';
import { countFromWeight, countSettled, StabilityDetector } from './stability.js';

describe('StabilityDetector', () => {
  it('is stable only after readings stayed within tolerance for the window', () => {
    const d = new StabilityDetector({ windowMs: 200, minReadings: 2 });
    expect(d.add('b', 0, 500, 5).stable).toBe(false);
    expect(d.add('b', 100, 501, 5).stable).toBe(false);
    const v = d.add('b', 200, 499, 5);
    expect(v).toEqual({ stable: true, weightG: 500, minG: 499, maxG: 501 });
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
    expect(d.add('b', 600, 350, 5)).toEqual({ stable: true, weightG: 350, minG: 349.5, maxG: 350.5 });
  });

  it('never stabilises on a wandering signal whose steps exceed the tolerance', () => {
    const d = new StabilityDetector({ windowMs: 200, minReadings: 2 });
    for (let i = 0; i < 50; i++)
      expect(d.add('b', i * 100, 500 + (i % 2 === 0 ? 0 : 20), 5).stable).toBe(false);
  });

  it('rejects a window that trends (a hand leaning in) though it stays in the band', () => {
    const d = new StabilityDetector({ windowMs: 400, minReadings: 5 });
    // 2 g per 100 ms: 8 g across the window, inside the 10 g band, a quarter of it allowed.
    for (let i = 0; i < 5; i++) expect(d.add('b', i * 100, 500 + 2 * i, 10).stable).toBe(false);
    const still = new StabilityDetector({ windowMs: 400, minReadings: 5 });
    for (let i = 0; i < 4; i++) still.add('b', i * 100, 500 + (i % 2) * 0.3, 10);
    expect(still.add('b', 400, 500, 10).stable).toBe(true);
  });

  it('rejects a window that scatters across the band (a trembling hand) without a trend', () => {
    const d = new StabilityDetector({ windowMs: 400, minReadings: 5 });
    for (let i = 0; i < 9; i++) expect(d.add('b', i * 100, 500 + (i % 2) * 9, 10).stable).toBe(false);
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

describe('countSettled', () => {
  const verdict = (weightG: number, minG: number, maxG: number) => ({ stable: true, weightG, minG, maxG });

  it('counts a window whose every reading rounds to the same count, with the mean confidence', () => {
    expect(countSettled(verdict(350, 348, 352), 0, 50)).toEqual({ count: 7, confidence: 1 });
  });

  it('counts nothing from a window straddling half a unit', () => {
    expect(countSettled(verdict(372, 370, 376), 0, 50).count).toBeUndefined();
    expect(countSettled(verdict(327, 324, 330), 0, 50).count).toBeUndefined();
  });
});
