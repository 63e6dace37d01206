import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../metrics/index.js';
import { eventually, uniqueName } from '../testing/index.js';
import type { EventStoreTarget, OpenDatabase } from './contract.js';
import type { EventStore, StoredEvent } from './port.js';
import type { Projection } from './projection.js';
import { type ProjectionRunner, startProjections } from './projections.js';
import { createEventStore } from './store.js';

/** Units counted per stream from `item.added` / `item.removed`: the read model under test. */
function countsProjection(table: string, options: { failOn?: (e: StoredEvent) => boolean } = {}): Projection {
  return {
    name: `counts-${table}`,
    types: ['item.added', 'item.removed'],
    async apply(tx, event) {
      if (options.failOn?.(event)) throw new Error(`poison event at ${event.position}`);
      const qty = (event.data as { qty: number }).qty * (event.type === 'item.added' ? 1 : -1);
      await sql`INSERT INTO ${sql.id(table)} (stream_id, units, events) VALUES (${event.streamId}, ${qty}, 1)
        ON CONFLICT (stream_id) DO UPDATE SET units = ${sql.id(table)}.units + ${qty},
          events = ${sql.id(table)}.events + 1`.execute(tx.sql);
    },
    async reset(tx) {
      await sql`DELETE FROM ${sql.id(table)}`.execute(tx.sql);
    },
  };
}

/** The same read model computed by folding the log in memory. */
async function foldCounts(store: EventStore): Promise<Record<string, { units: number; events: number }>> {
  const out: Record<string, { units: number; events: number }> = {};
  for (let after = 0n; ; ) {
    const batch = await store.readAll({ after, limit: 1000, types: ['item.added', 'item.removed'] });
    if (batch.length === 0) return out;
    for (const e of batch) {
      const qty = (e.data as { qty: number }).qty * (e.type === 'item.added' ? 1 : -1);
      const row = out[e.streamId] ?? { units: 0, events: 0 };
      out[e.streamId] = { units: row.units + qty, events: row.events + 1 };
    }
    after = batch.at(-1)?.position ?? after;
  }
}

async function readCounts(opened: OpenDatabase, table: string) {
  const { rows } = await sql<{ stream_id: string; units: number; events: number }>`
    SELECT stream_id, units, events FROM ${sql.id(table)}`.execute(opened.database.kysely);
  return Object.fromEntries(
    rows.map((r) => [r.stream_id, { units: Number(r.units), events: Number(r.events) }]),
  );
}

export async function createCountsTable(opened: OpenDatabase, table: string): Promise<void> {
  await sql`CREATE TABLE ${sql.id(table)} (stream_id text PRIMARY KEY, units integer NOT NULL, events integer NOT NULL)`.execute(
    opened.database.kysely,
  );
}

export { countsProjection, foldCounts, readCounts };

export function describeProjectionContract(
  name: string,
  target: EventStoreTarget,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`projections contract: ${name}`, () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    async function setup(
      projection: (table: string) => Projection,
      follow = false,
      others: (table: string, p: Projection) => Projection[] = () => [],
    ) {
      const opened = await target.open();
      cleanup.push(() => opened.close());
      const store = await createEventStore(opened.database);
      const table = uniqueName('counts');
      await createCountsTable(opened, table);
      const p = projection(table);
      const metrics = createRegistry();
      const runner: ProjectionRunner = await startProjections({
        store,
        database: opened.database,
        projections: [p, ...others(table, p)],
        batchSize: 7,
        follow,
        metrics,
        pollIntervalMs: follow ? 60_000 : 1_000,
      });
      cleanup.push(() => runner.close());
      return { opened, store, table, projection: p, runner, metrics };
    }

    async function appendSome(store: EventStore, streams: number, perStream: number) {
      for (let i = 0; i < perStream; i++) {
        for (let s = 0; s < streams; s++) {
          await store.append(`cart-${s}`, 'any', [
            { type: i % 3 === 2 ? 'item.removed' : 'item.added', data: { qty: (i % 4) + 1 } },
            { type: 'cart.viewed', data: {} },
          ]);
        }
      }
    }

    it('applies events after its checkpoint, in batches, with the checkpoint in the same transaction', async () => {
      const { opened, store, table, projection, runner } = await setup((t) => countsProjection(t));
      await appendSome(store, 3, 10);
      expect(await runner.catchUp()).toBe(30);
      expect(await readCounts(opened, table)).toEqual(await foldCounts(store));
      const checkpoint = await runner.checkpoint(projection.name);
      const [lastCounted] = (await store.readAll({ after: 0n, limit: 1000, types: projection.types })).slice(
        -1,
      );
      expect(checkpoint).toBe(lastCounted?.position);
      // Nothing new: nothing applied twice.
      expect(await runner.catchUp()).toBe(0);
      await appendSome(store, 2, 3);
      expect(await runner.catchUp()).toBe(6);
      expect(await readCounts(opened, table)).toEqual(await foldCounts(store));
    });

    it('rolls a failing batch back entirely, rows and checkpoint, and resumes once the cause is gone', async () => {
      let poisoned = true;
      const { opened, store, table, projection, runner } = await setup((t) =>
        countsProjection(t, { failOn: (e) => poisoned && e.streamId === 'cart-1' && e.version === 9 }),
      );
      await appendSome(store, 2, 8);
      await expect(runner.catchUp()).rejects.toThrow(/poison/);
      const checkpoint = await runner.checkpoint(projection.name);
      const counts = await readCounts(opened, table);
      // Applied only whole batches before the poison one: the events counted are exactly those
      // up to the checkpoint.
      const upTo = (await store.readAll({ after: 0n, limit: 1000, types: projection.types })).filter(
        (e) => e.position <= checkpoint,
      );
      expect(Object.values(counts).reduce((n, c) => n + c.events, 0)).toBe(upTo.length);
      expect(upTo.length % 7).toBe(0);
      poisoned = false;
      await runner.catchUp();
      expect(await readCounts(opened, table)).toEqual(await foldCounts(store));
    });

    it('rebuilds from zero to the same rows, through its reset hook', async () => {
      const { opened, store, table, projection, runner } = await setup((t) => countsProjection(t));
      await appendSome(store, 4, 6);
      await runner.catchUp();
      const live = await readCounts(opened, table);
      // A wrong row the rebuild must wipe.
      await sql`UPDATE ${sql.id(table)} SET units = units + 1000`.execute(opened.database.kysely);
      expect(await runner.rebuild(projection.name)).toBe(24);
      expect(await readCounts(opened, table)).toEqual(live);
      expect(live).toEqual(await foldCounts(store));
      await expect(runner.rebuild('nope')).rejects.toThrow(/unknown projection/);
    });

    it('applies a projection that follows another no further than that one, so it always finds its rows', async () => {
      const missing: bigint[] = [];
      const reader = (table: string, counts: Projection): Projection => ({
        name: `reader-${table}`,
        types: counts.types,
        follows: counts.name,
        async apply(tx, event) {
          const { rows } =
            await sql`SELECT 1 FROM ${sql.id(table)} WHERE stream_id = ${event.streamId}`.execute(tx.sql);
          if (rows.length === 0) missing.push(event.position);
        },
      });
      const { opened, store, table, projection, runner } = await setup(
        (t) => countsProjection(t),
        false,
        (t, p) => [reader(t, p)],
      );
      await appendSome(store, 3, 4);
      // The counts have not run: the reader waits rather than miss their rows.
      expect(await runner.catchUp(`reader-${table}`)).toBe(0);
      expect(await runner.catchUp(projection.name)).toBe(12);
      // Events committed after the counts' pass, before the reader's: the race a list order loses.
      await appendSome(store, 5, 3);
      expect(await runner.catchUp(`reader-${table}`)).toBe(12);
      expect(await runner.checkpoint(`reader-${table}`)).toBe(await runner.checkpoint(projection.name));
      expect(await runner.catchUp()).toBe(15 + 15);
      expect(await runner.checkpoint(`reader-${table}`)).toBe(await runner.checkpoint(projection.name));
      expect(missing).toEqual([]);
      await expect(
        startProjections({ store, database: opened.database, projections: [reader(table, projection)] }),
      ).rejects.toThrow(/follows counts-.*which this runner does not run/);
    });

    it('follows the store: a commit wakes it without waiting for the poll', async () => {
      const { opened, store, table } = await setup((t) => countsProjection(t), true);
      await store.append('cart-live', 'no_stream', [{ type: 'item.added', data: { qty: 5 } }]);
      // The poll interval is a minute: only the commit's nudge can make this pass in time.
      await eventually(
        async () => (await readCounts(opened, table))['cart-live']?.units === 5,
        'live projection',
        20_000,
      );
    });
  });
}
