import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { type Reading, reading as readingSchema } from '../events/index.js';
import { binWeightMetric, metricNames } from './names.js';
import type { Metric, Payload } from './payload.js';
import { decodeReadings, isoTime } from './readings.js';

/** The rule decodeReadings enforces by hand, stated with the event schema itself. */
function throughSchema(payload: Payload): Reading[] | 'invalid' {
  try {
    const readings = decodeReadings(payload).readings;
    return readings.map((r) => readingSchema.parse(r));
  } catch (error) {
    if (error instanceof ValidationError) return 'invalid';
    throw error;
  }
}

const number = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
);
const metric: fc.Arbitrary<Metric> = fc.oneof(
  fc.record({
    name: fc.constant(metricNames.readingSeq),
    type: fc.constant('UInt64' as const),
    value: fc.nat(),
    timestamp: fc.oneof(fc.nat(), fc.constantFrom(253_402_300_799_999, 253_402_300_800_000, 8.64e15)),
  }),
  fc.record({
    name: fc.integer({ min: 0, max: 255 }).map(binWeightMetric),
    type: fc.constant('Double' as const),
    value: number,
  }),
  fc.record({
    name: fc.constant(metricNames.temperature),
    type: fc.constant('Double' as const),
    value: number,
  }),
);

describe('readings checked as they are decoded', () => {
  it('accepts exactly the readings the event schema accepts', () => {
    fc.assert(
      fc.property(fc.array(metric, { maxLength: 12 }), (metrics) => {
        const payload = { timestamp: 1, metrics };
        const direct = (() => {
          try {
            return decodeReadings(payload).readings;
          } catch (error) {
            if (error instanceof ValidationError) return 'invalid';
            throw error;
          }
        })();
        if (direct === 'invalid') {
          // refused by hand: either the schema refuses it too or the shape is wrong before the schema
          const shapeOk = metrics.length === 0 || metrics[0]!.name === metricNames.readingSeq;
          if (shapeOk) expect(schemaRefuses(metrics)).toBe(true);
        } else expect(throughSchema(payload)).toEqual(direct);
      }),
      { numRuns: 3_000 },
    );
  });

  it('formats reading times exactly as toISOString does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 253_402_300_799_999 }), { maxLength: 20 }), (times) => {
        for (const t of [...times, ...times.map((x) => x + 1).filter((x) => x <= 253_402_300_799_999)]) {
          expect(isoTime(t)).toBe(new Date(t).toISOString());
        }
      }),
      { numRuns: 2_000 },
    );
    for (const t of [0, 999, 1_000, 1_763_700_000_007, 1_763_700_000_070, 253_402_300_799_999]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
  });

  it('refuses more bins than the schema allows', () => {
    const metrics: Metric[] = [{ name: metricNames.readingSeq, type: 'UInt64', value: 1, timestamp: 1 }];
    for (let i = 0; i < 257; i++) metrics.push({ name: binWeightMetric(i % 256), type: 'Double', value: i });
    expect(() => decodeReadings({ metrics })).toThrow(/more than 256 bins/);
    expect(decodeReadings({ metrics: metrics.slice(0, 257) }).readings[0]!.bins).toHaveLength(256);
  });
});

/** Builds the readings without checks and asks the schema (what decodeReadings did before). */
function schemaRefuses(metrics: readonly Metric[]): boolean {
  const readings: Record<string, unknown>[] = [];
  for (const m of metrics) {
    if (m.name === metricNames.readingSeq) {
      const t = m.timestamp!;
      const d = new Date(t);
      if (Number.isNaN(d.getTime())) return true;
      readings.push({ seq: m.value, time: d.toISOString(), bins: [] });
    } else if (m.name === metricNames.temperature) readings.at(-1)!.temperatureC = m.value;
    else (readings.at(-1)!.bins as unknown[]).push({ bin: Number(m.name.slice(4, 6)), weightG: m.value });
  }
  return readings.some((r) => !readingSchema.safeParse(r).success);
}
