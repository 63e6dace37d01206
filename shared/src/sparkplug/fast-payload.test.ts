import fc from 'fast-check';
import { get } from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { readPlainPayload } from './fast-payload.js';
import { decodePayload, decodePayloadWithCodec, type Payload } from './payload.js';
import { encodeReadings } from './readings.js';

const tahu = get('spBv1.0')!;
type TahuPayload = Parameters<typeof tahu.encodePayload>[0];

/** What the codec path makes of the bytes: a payload, or the error it refuses them with. */
function viaCodec(bytes: Uint8Array): Payload | Error {
  try {
    return decodePayloadWithCodec(bytes);
  } catch (error) {
    return error as Error;
  }
}

const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const plainMetric = fc
  .record(
    {
      name: fc.string({ minLength: 1, maxLength: 12 }),
      value: fc.oneof(
        fc.record({
          type: fc.constantFrom('Int8', 'Int16', 'Int32'),
          value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        }),
        fc.record({ type: fc.constantFrom('UInt8', 'UInt16'), value: fc.integer({ min: 0, max: 65_535 }) }),
        fc.record({ type: fc.constant('UInt32'), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
        fc.record({
          type: fc.constant('Int64'),
          value: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        }),
        fc.record({ type: fc.constantFrom('UInt64', 'DateTime'), value: u64 }),
        fc.record({ type: fc.constant('Float'), value: fc.float({ noNaN: true }) }),
        fc.record({ type: fc.constant('Double'), value: fc.double() }),
        fc.record({ type: fc.constant('Boolean'), value: fc.boolean() }),
        fc.record({ type: fc.constantFrom('String', 'Text', 'UUID'), value: fc.string({ maxLength: 20 }) }),
        fc.record({ type: fc.constant('Double'), value: fc.constant(null) }),
      ),
      timestamp: u64,
      isHistorical: fc.boolean(),
      isTransient: fc.boolean(),
    },
    { requiredKeys: ['name', 'value'] },
  )
  .map(({ value, ...rest }) => ({ ...rest, ...value }));

const plainPayload = fc.record(
  {
    timestamp: u64,
    seq: fc.integer({ min: 0, max: 255 }),
    uuid: fc.string({ maxLength: 10 }),
    metrics: fc.array(plainMetric, { maxLength: 8 }),
  },
  { requiredKeys: ['metrics'] },
);

describe('direct Sparkplug payload reader', () => {
  it('reads every plain payload the Tahu codec writes, exactly as the codec path does', () => {
    fc.assert(
      fc.property(plainPayload, (p) => {
        const bytes = tahu.encodePayload(p as TahuPayload);
        const fast = readPlainPayload(bytes, 100_000);
        expect(fast).toBeDefined();
        expect(fast).toEqual(viaCodec(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the DDATA readings the fast writer sends', () => {
    const bytes = encodeReadings(
      [{ seq: 7, time: 1_763_700_000_000, bins: [{ bin: 0, weightG: 12.5 }], temperatureC: 20 }],
      { seq: 3, historical: true, timestamp: 1_763_700_000_100 },
    );
    expect(readPlainPayload(bytes, 100)).toEqual(viaCodec(bytes));
  });

  it('never reads damaged bytes differently from the codec: it agrees or leaves them to it', () => {
    const damaged = fc
      .tuple(
        plainPayload,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
      )
      .map(([p, flips, cut]) => {
        const bytes = Buffer.from(tahu.encodePayload(p as TahuPayload));
        for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
        return cut % 4 === 0 ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          damaged,
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        ),
        (bytes) => {
          const fast = readPlainPayload(bytes, 100_000);
          if (fast !== undefined) expect(viaCodec(bytes)).toEqual(fast);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("reads a null metric's 32-bit value field as protobufjs does, not skipping it whole", () => {
    // Found by the property above (seed -898108773): a null Double metric carrying an 8-byte
    // boolean_value varint. protobufjs reads five bytes of it and jumps five more, losing the
    // datatype after it; skipping the varint whole had read the datatype and disagreed.
    const bytes = Buffer.from([
      8, 128, 128, 128, 128, 128, 128, 1, 18, 22, 10, 3, 32, 32, 32, 112, 128, 128, 128, 128, 128, 128, 128,
      1, 32, 10, 40, 0, 48, 0, 56, 1, 34, 3, 32, 32, 32,
    ]);
    expect(viaCodec(bytes)).toBeInstanceOf(Error);
    expect(readPlainPayload(bytes, 100)).toBeUndefined();
  });

  it('leaves payloads beyond the metric bound, aliases and complex types to the codec', () => {
    const three = tahu.encodePayload({
      metrics: [1, 2, 3].map((v) => ({ name: `m${v}`, type: 'Int32', value: v })),
    } as TahuPayload);
    expect(readPlainPayload(three, 2)).toBeUndefined();
    expect(() => decodePayload(three, { maxMetrics: 2 })).toThrow(/more than 2/);
    const aliased = tahu.encodePayload({
      metrics: [{ name: 'a', alias: 4, type: 'Int32', value: 1 }],
    } as TahuPayload);
    expect(readPlainPayload(aliased, 10)).toBeUndefined();
    const bytesMetric = tahu.encodePayload({
      metrics: [{ name: 'b', type: 'Bytes', value: Buffer.from([1]) }],
    } as TahuPayload);
    expect(readPlainPayload(bytesMetric, 10)).toBeUndefined();
    expect(() => decodePayload(bytesMetric)).toThrow(/unsupported type Bytes/);
  });
});
