import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { contractEvent, makeEvent } from '../event-log/contract-events.js';
import { serverAvailable, uniqueName } from '../testing/index.js';
import type { EventStoreTarget } from './contract.js';
import { RecordingLog } from './contract-outbox.js';
import { countsProjection, createCountsTable, foldCounts, readCounts } from './contract-projections.js';
import type { EventStore } from './port.js';
import { startProjections } from './projections.js';
import { type OutboxRelay, startOutboxRelay } from './relay.js';
import { createEventStore } from './store.js';
import { pgliteTarget, postgresTarget } from './testing-targets.js';

/**
 * Random command sequences over a small aggregate (a cart: items added and removed, never below
 * zero) with crashes mixed in: transactions aborted after they appended and queued outbox rows,
 * projection batches that fail midway, relays that die after publishing but before marking.
 * After each sequence: the live projection and a rebuilt one both equal a fold of the log, the
 * log equals the model of the commands that committed, and the event log received every event at
 * least once, in order per stream.
 */
type Op =
  | { kind: 'add' | 'remove'; cart: number; qty: number; abort: boolean }
  | { kind: 'project'; failAt: number | undefined }
  | { kind: 'relay'; crash: boolean }
  | { kind: 'rebuild' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('add' as const, 'remove' as const),
      cart: fc.nat(3),
      qty: fc.integer({ min: 1, max: 5 }),
      abort: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('project' as const),
      failAt: fc.option(fc.nat(6), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('relay' as const), crash: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rebuild' as const) }) },
);

async function runSequence(target: EventStoreTarget, ops: readonly Op[]): Promise<void> {
  const opened = await target.open();
  const relays: OutboxRelay[] = [];
  try {
    const { database } = opened;
    const store = await createEventStore(database);
    const topic = uniqueName('prop');
    const definition = contractEvent(topic);
    const [liveTable, rebuiltTable] = [uniqueName('live'), uniqueName('rebuilt')];
    await createCountsTable(opened, liveTable);
    await createCountsTable(opened, rebuiltTable);
    let failIn: number | undefined;
    const live = countsProjection(liveTable, {
      failOn: () => failIn !== undefined && failIn-- === 0,
    });
    const rebuilt = countsProjection(rebuiltTable);
    const runner = await startProjections({
      store,
      database,
      projections: [live, rebuilt],
      batchSize: 4,
      follow: false,
    });
    const log = new RecordingLog();
    const relayOptions = { database, pollIntervalMs: 60_000, retryInitialDelayMs: 1, retryMaxDelayMs: 5 };
    let relay = await startOutboxRelay({ ...relayOptions, eventLog: log });
    relays.push(relay);
    const model = new Map<string, number>();

    for (const o of ops) {
      if (o.kind === 'add' || o.kind === 'remove') {
        await command(store, o, model, topic, definition);
      } else if (o.kind === 'project') {
        failIn = o.failAt;
        await runner.catchUp(live.name).catch((e: unknown) => {
          if (!String(e).includes('poison')) throw e;
        });
        failIn = undefined;
      } else if (o.kind === 'relay') {
        if (o.crash) {
          // Dies after the log took the events and before it marks them: the next one resends.
          const dying = new RecordingLog();
          dying.after = () => {
            throw new Error('relay killed before marking');
          };
          const doomed = await startOutboxRelay({ ...relayOptions, eventLog: dying });
          await relay.close();
          await doomed.flush();
          log.published.push(...dying.published);
          await doomed.close();
          relay = await startOutboxRelay({ ...relayOptions, eventLog: log });
          relays.push(relay);
        } else {
          await relay.flush();
        }
      } else {
        await runner.rebuild(rebuilt.name);
      }
    }

    await runner.catchUp();
    const fold = await foldCounts(store);
    expect(await readCounts(opened, liveTable)).toEqual(fold);
    await runner.rebuild(rebuilt.name);
    expect(await readCounts(opened, rebuiltTable)).toEqual(fold);
    for (const [stream, units] of model) expect(fold[stream]?.units ?? 0, stream).toBe(units);

    for (let i = 0; i < 200 && (await relay.pending()) > 0; i++) {
      await relay.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await relay.pending()).toBe(0);
    const seen = log.firstSeen();
    const { rows } = await sql<{
      stream_id: string;
      version: number;
    }>`SELECT stream_id, version FROM bv_es_events
      ORDER BY stream_id, version`.execute(database.kysely);
    const expected: Record<string, number[]> = {};
    for (const r of rows) expected[r.stream_id] = [...(expected[r.stream_id] ?? []), Number(r.version)];
    expect(seen).toEqual(expected);
    await runner.close();
  } finally {
    for (const r of relays) await r.close();
    await opened.close();
  }
}

/** decide: a removal that would go below zero is refused (no events); evolve: units +/- qty. */
async function command(
  store: EventStore,
  o: Extract<Op, { kind: 'add' | 'remove' }>,
  model: Map<string, number>,
  topic: string,
  definition: ReturnType<typeof contractEvent>,
): Promise<void> {
  const stream = `cart-${o.cart}`;
  try {
    await store.transaction(async (tx) => {
      const history = await tx.readStream(stream);
      const units = history.reduce(
        (n, e) => n + (e.data as { qty: number }).qty * (e.type === 'item.added' ? 1 : -1),
        0,
      );
      if (o.kind === 'remove' && units < o.qty) return;
      const type = o.kind === 'add' ? 'item.added' : 'item.removed';
      const result = await tx.append(stream, history.length, [{ type, data: { qty: o.qty } }]);
      await tx.publish(topic, makeEvent(definition, stream, result.version));
      if (o.abort) throw new Error('crash inside the transaction');
      model.set(stream, units + (o.kind === 'add' ? o.qty : -o.qty));
    });
  } catch (error) {
    if (!o.abort) throw error;
  }
}

const pglite = pgliteTarget();
afterAll(() => pglite.closeAll());
const available = await serverAvailable('postgres');

describe('event store property: projections and outbox under crashes', () => {
  it('PGlite: live and rebuilt projections equal the fold of the log; the outbox delivers every event in order per stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => runSequence(pglite, ops)),
      {
        numRuns: 25,
      },
    );
  }, 240_000);

  it.skipIf(!available)(
    'PostgreSQL: the same property',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) =>
          runSequence(postgresTarget, ops),
        ),
        {
          numRuns: 25,
        },
      );
    },
    240_000,
  );
});
