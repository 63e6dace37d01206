import { platformEvents } from '@bitv/shared/events';
import {
  decodeCommandResults,
  decodePayload,
  decodePayloadWithCodec,
  decodeReadings,
  deviceTopic,
  encodeReadings,
  type Payload,
  parseTopic,
} from '@bitv/shared/sparkplug';
import fc from 'fast-check';
import { get } from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { buildRecords } from '../src/bridge/records.js';
import { translate, type UplinkTopic } from '../src/bridge/translate.js';

/*
 * The bridge reads every DDATA through the direct protobuf reader (decodePayload's fast path).
 * Here the whole DDATA reading the bridge does (payload, readings, command results) runs on both
 * decoders, the direct one and the Eclipse Tahu codec (`sparkplug-payload`) alone, over random
 * payloads: they must give the same readings, or refuse with the same error.
 */
const tahu = get('spBv1.0')!;
type TahuPayload = Parameters<typeof tahu.encodePayload>[0];

/** What the bridge takes from a DDATA, or the message it refuses it with. */
function ddata(decode: (bytes: Uint8Array) => Payload, bytes: Uint8Array): unknown {
  try {
    const payload = decode(bytes);
    return { seq: payload.seq, ...decodeReadings(payload), results: decodeCommandResults(payload) };
  } catch (error) {
    return { refused: (error as Error).name, message: (error as Error).message };
  }
}

const direct = (bytes: Uint8Array) => decodePayload(bytes);
const codec = (bytes: Uint8Array) => decodePayloadWithCodec(bytes);

const time = fc.integer({ min: 0, max: 4_102_444_800_000 });
const readings = fc.array(
  fc.record({
    seq: fc.integer({ min: 0, max: 2 ** 40 }),
    time,
    bins: fc.array(
      fc.record({
        bin: fc.integer({ min: 0, max: 63 }),
        weightG: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
      }),
      { maxLength: 4 },
    ),
    temperatureC: fc.option(fc.double({ noNaN: true, min: -50, max: 80 }), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 6 },
);

/** DDATA as the edge agent writes it (fast writer), sometimes historical. */
const agentDdata = fc
  .tuple(readings, fc.integer({ min: 0, max: 255 }), fc.boolean(), time)
  .map(([r, seq, historical, timestamp]) => Buffer.from(encodeReadings(r, { seq, historical, timestamp })));

/** DDATA written by another Sparkplug client: our names with odd types, values, order, flags. */
const names = [
  'reading/seq',
  'bin/00/weight_g',
  'bin/07/weight_g',
  'temperature_c',
  'command/id',
  'command/status',
  'x',
];
const foreignDdata = fc
  .record({
    seq: fc.integer({ min: 0, max: 300 }),
    timestamp: fc.option(time, { nil: undefined }),
    metrics: fc.array(
      fc.record({
        name: fc.constantFrom(...names),
        type: fc.constantFrom('UInt64', 'Double', 'Float', 'Int32', 'String', 'Boolean'),
        value: fc.oneof(
          fc.integer({ min: -5, max: 2 ** 31 - 1 }),
          fc.double(),
          fc.constantFrom('done', 'abc'),
          fc.boolean(),
        ),
        timestamp: fc.option(time, { nil: undefined }),
        isHistorical: fc.boolean(),
      }),
      { maxLength: 8 },
    ),
  })
  .map((p) => {
    try {
      return Buffer.from(tahu.encodePayload(p as TahuPayload));
    } catch {
      return Buffer.from([]); // a value the codec cannot write for that type
    }
  });

/** Either of the above with bytes changed or cut: bad input must be refused alike. */
const damaged = fc
  .tuple(
    fc.oneof(agentDdata, foreignDdata),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    fc.nat(),
  )
  .map(([bytes, flips, cut]) => {
    const b = Buffer.from(bytes);
    for (const [at, value] of flips) if (b.length > 0) b[at % b.length] = value;
    return cut % 3 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
  });

describe('DDATA on the bridge: the direct reader against sparkplug-payload', () => {
  it('reads the readings the edge agent sends exactly as the Tahu codec does', () => {
    fc.assert(
      fc.property(agentDdata, (bytes) => {
        const fast = ddata(direct, bytes);
        expect(fast).not.toHaveProperty('refused');
        expect(fast).toEqual(ddata(codec, bytes));
      }),
      { numRuns: 1_000 },
    );
  });

  it('reads, or refuses with the same error, what other Sparkplug clients send', () => {
    fc.assert(
      fc.property(foreignDdata, (bytes) => {
        expect(ddata(direct, bytes)).toEqual(ddata(codec, bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses damaged and truncated payloads the same way', () => {
    let refused = 0;
    fc.assert(
      fc.property(damaged, (bytes) => {
        const fast = ddata(direct, bytes);
        if (typeof fast === 'object' && fast !== null && 'refused' in fast) refused++;
        expect(fast).toEqual(ddata(codec, bytes));
      }),
      { numRuns: 3_000 },
    );
    // the property must have seen refusals, or it checked nothing about them
    expect(refused).toBeGreaterThan(100);
  });
});

describe('records of what the bridge reads', () => {
  const registry = platformEvents();
  const topics = ['gw-1', 'gw-2'].flatMap((edge) =>
    ['shelf-1', 'shelf-2'].map(
      (device) => parseTopic(deviceTopic('DDATA', 'site', edge, device)) as UplinkTopic,
    ),
  );

  it('fit their event schema in full, though telemetry is built without parsing it again', () => {
    let telemetry = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.oneof(agentDdata, foreignDdata, damaged)), { maxLength: 12 }),
        (messages) => {
          const outgoing = messages.flatMap(([n, bytes]) => {
            try {
              return translate(topics[n % topics.length]!, bytes, '/bitv/gateway/test').events;
            } catch {
              return []; // refused at the border: never reaches a record
            }
          });
          for (const event of buildRecords(outgoing, (o) => o)) {
            const schema = registry.get(event.type)!.schema;
            expect(schema.safeParse(event.data).error).toBeUndefined();
            if (event.type === 'bv.telemetry.readings.v1') telemetry++;
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(telemetry).toBeGreaterThan(200);
  });
});
