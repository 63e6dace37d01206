import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { serverAvailable } from '../testing/index.js';
import type { EventStoreTarget } from './contract.js';
import type { NewEvent, StoredEvent } from './port.js';
import { createEventStore } from './store.js';
import { pgliteTarget, postgresTarget } from './testing-targets.js';

/**
 * `readAll` reads the log as JSON arrays of up to 100 events, `readStream` as plain columns (see
 * rows.ts): both must hand back the same events, field for field, whatever the data holds and
 * wherever a page starts or ends against those groups of 100.
 */
const awkward: unknown[] = [
  { text: 'quotes " and \\ backslash, newline\n, tab\t, unicode grüße ✓ 😀' },
  { nested: { list: [1, -2.5, null, true, 'x'], empty: {} }, max: 9007199254740991 },
  [],
  'a bare string',
  0.1,
  null,
];

function events(stream: string, n: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    type: i % 2 === 0 ? 'thing.made' : 'thing.moved',
    data: { i, stream, value: awkward[i % awkward.length] },
    metadata: { actor: `actor-${i % 7}`, correlationId: `${stream}-${i}` },
  }));
}

async function readAllPaged(
  store: Awaited<ReturnType<typeof createEventStore>>,
  limit: number,
  types?: string[],
): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let after = 0n;
  for (let page = 0; page < 1_000; page++) {
    const list = await store.readAll({ after, limit, ...(types ? { types } : {}) });
    all.push(...list);
    const last = list.at(-1);
    if (!last || list.length < limit) return all;
    after = last.position;
  }
  throw new Error('readAll did not reach the end of the log');
}

function describeReadAll(name: string, target: EventStoreTarget) {
  describe(`${name}: readAll and readStream agree`, () => {
    it('returns every event once, in position order, equal to its stream read, for any page size', async () => {
      const { database, close } = await target.open();
      try {
        const store = await createEventStore(database);
        // Two streams appended in turns, so a page of the log interleaves them.
        for (let round = 0; round < 5; round++) {
          await store.appendMany([
            { streamId: 'a', expected: round === 0 ? 'no_stream' : round * 31, events: events('a', 31) },
            { streamId: 'b', expected: round === 0 ? 'no_stream' : round * 23, events: events('b', 23) },
          ]);
        }
        const streams = [...(await store.readStream('a')), ...(await store.readStream('b'))];
        const expected = streams.sort((x, y) => (x.position < y.position ? -1 : 1));
        expect(expected).toHaveLength(270);
        for (const limit of [7, 37, 100, 101, 270, 5_000]) {
          expect(await readAllPaged(store, limit)).toEqual(expected);
        }
        const moved = expected.filter((e) => e.type === 'thing.moved');
        expect(await readAllPaged(store, 57, ['thing.moved'])).toEqual(moved);
        expect(expected[0]?.recordedAt).toBeInstanceOf(Date);
      } finally {
        await close();
      }
    }, 120_000);

    it('keeps positions past 2^53 exact', async () => {
      const { database, close } = await target.open();
      try {
        const store = await createEventStore(database);
        await sql`ALTER TABLE bv_es_events ALTER COLUMN position RESTART WITH 9007199254740993`.execute(
          database.kysely,
        );
        await store.append('big', 'no_stream', events('big', 3));
        const [first] = await store.readAll({ after: 0n, limit: 10 });
        expect(first?.position).toBe(9_007_199_254_740_993n);
        expect(await store.readAll({ after: 0n, limit: 10 })).toEqual(await store.readStream('big'));
      } finally {
        await close();
      }
    }, 60_000);
  });
}

const pglite = pgliteTarget();
afterAll(() => pglite.closeAll());
describeReadAll('PGlite', pglite);
if (await serverAvailable('postgres')) describeReadAll('PostgreSQL', postgresTarget);
