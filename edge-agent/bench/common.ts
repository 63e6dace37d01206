import type { NewReading } from '../src/outbox/index.js';

/** A shelf reading like the simulator's: 8 bins and a temperature. */
export function sampleReadings(n: number, startMs = Date.now()): NewReading[] {
  return Array.from({ length: n }, (_, i) => ({
    timeMs: startMs + i,
    bins: Array.from({ length: 8 }, (_, bin) => ({ bin, weightG: 1000 + bin * 12.5 + (i % 100) / 10 })),
    temperatureC: 21.5,
  }));
}
