import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index.js';
import { ConcurrencyError, ValidationError } from '../errors/index.js';
import { uniqueName } from '../testing/index.js';
import type { EventStore, NewEvent, StoredEvent } from './port.js';
import { createEventStore } from './store.js';

/**
 * The one contract suite of the event store, run against PGlite and a real PostgreSQL. Each
 * test writes its own streams (unique names), so tests sharing one database never collide;
 * global-order checks look only at their own streams.
 */
export interface EventStoreTarget {
  /** A fresh, empty database (its own PGlite, or its own schema on the server). */
  open(): Promise<OpenDatabase>;
}

export interface OpenDatabase {
  database: Database;
  /** PostgreSQL: the server's URL, for a relay's LISTEN connection. */
  url?: string;
  close(): Promise<void>;
}

const ev = (type: string, data: unknown, metadata?: Record<string, unknown>): NewEvent => ({
  type,
  data,
  ...(metadata ? { metadata } : {}),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeEventStoreContract(
  name: string,
  target: EventStoreTarget,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`event store contract: ${name}`, () => {
    let opened: OpenDatabase;
    let store: EventStore;

    beforeAll(async () => {
      opened = await target.open();
      store = await createEventStore(opened.database);
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('appends to a new stream and reads it back in version order', async () => {
      const stream = uniqueName('order');
      const id = randomUUID();
      const result = await store.append(stream, 'no_stream', [
        { ...ev('order.placed', { lines: [{ sku: 'A', qty: 2 }] }, { actor: 'u1' }), id },
        ev('order.reserved', { ok: true }),
      ]);
      expect(result.version).toBe(2);
      const events = await store.readStream(stream);
      expect(events.map((e) => [e.version, e.type])).toEqual([
        [1, 'order.placed'],
        [2, 'order.reserved'],
      ]);
      expect(events[0]).toMatchObject({ id, streamId: stream, schemaVersion: 1, metadata: { actor: 'u1' } });
      expect(events[0]?.data).toEqual({ lines: [{ sku: 'A', qty: 2 }] });
      expect(events[0]?.recordedAt).toBeInstanceOf(Date);
      expect(typeof events[0]?.position).toBe('bigint');
      expect(events[1]?.position).toBeGreaterThan(events[0]?.position ?? 0n);
      expect(result.position).toBe(events[1]?.position);
      expect(await store.readStream(stream, { fromVersion: 2 })).toHaveLength(1);
      expect(await store.readStream(uniqueName('none'))).toEqual([]);
    });

    it('refuses an append at an unexpected version with a ConcurrencyError (code conflict) and writes nothing', async () => {
      const stream = uniqueName('order');
      await store.append(stream, 'no_stream', [ev('a', 1)]);
      for (const expected of [0, 2, 'no_stream'] as const) {
        const error = await store.append(stream, expected, [ev('b', 2)]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect((error as ConcurrencyError).code).toBe('conflict');
        expect((error as ConcurrencyError).details).toMatchObject({ streamId: stream, actual: 1 });
      }
      await expect(store.append(uniqueName('missing'), 'stream_exists', [ev('a', 1)])).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      expect(await store.readStream(stream)).toHaveLength(1);
      await store.append(stream, 1, [ev('b', 2)]);
      await store.append(stream, 'stream_exists', [ev('c', 3)]);
      await store.append(stream, 'any', [ev('d', 4)]);
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('lets exactly one of many concurrent appends at the same expected version win', async () => {
      const stream = uniqueName('race');
      await store.append(stream, 'no_stream', [ev('start', 0)]);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.append(stream, 1, [ev('bid', i)])),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes.filter((o) => o.status === 'rejected'))
        expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
      expect(await store.readStream(stream)).toHaveLength(2);
    });

    it('appends to several streams atomically: one conflict writes none of them', async () => {
      const [a, b] = [uniqueName('a'), uniqueName('b')];
      await store.append(b, 'no_stream', [ev('x', 1)]);
      await expect(
        store.appendMany([
          { streamId: a, expected: 'no_stream', events: [ev('y', 1)] },
          { streamId: b, expected: 'no_stream', events: [ev('y', 2)] },
        ]),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await store.readStream(a)).toEqual([]);
      const results = await store.appendMany([
        { streamId: a, expected: 'no_stream', events: [ev('y', 1)] },
        { streamId: b, expected: 1, events: [ev('y', 2), ev('z', 3)] },
      ]);
      expect(results.map((r) => [r.streamId, r.version])).toEqual([
        [a, 1],
        [b, 3],
      ]);
    });

    it('appendEach (group commit) refuses only the request whose stream moved and writes the rest in order', async () => {
      const [a, b, c] = [uniqueName('a'), uniqueName('b'), uniqueName('c')];
      await store.append(b, 'no_stream', [ev('x', 1)]);
      const results = await store.transaction((tx) =>
        tx.appendEach([
          { streamId: a, expected: 'no_stream', events: [ev('y', 1), ev('y', 2)] },
          { streamId: b, expected: 'no_stream', events: [ev('y', 3)] },
          { streamId: c, expected: 'any', events: [ev('y', 4)] },
        ]),
      );
      expect(results[0]).toMatchObject({ streamId: a, version: 2 });
      expect(results[1]).toBeInstanceOf(ConcurrencyError);
      expect((results[1] as ConcurrencyError).details).toMatchObject({ streamId: b, actual: 1 });
      expect(results[2]).toMatchObject({ streamId: c, version: 1 });
      expect((await store.readStream(b)).map((e) => e.data)).toEqual([1]);
      const [ea, ec] = [await store.readStream(a), await store.readStream(c)];
      expect(ea.map((e) => e.data)).toEqual([1, 2]);
      expect(ec[0]?.position).toBeGreaterThan(ea[1]?.position ?? 0n);
      await expect(
        store.transaction((tx) =>
          tx.appendEach([
            { streamId: a, expected: 2, events: [ev('z', 1)] },
            { streamId: a, expected: 3, events: [ev('z', 2)] },
          ]),
        ),
      ).rejects.toBeInstanceOf(ValidationError);
    });

    it('commits events, read-model rows and outbox entries of a transaction together, or none', async () => {
      const table = uniqueName('rm');
      await sql`CREATE TABLE ${sql.id(table)} (id text PRIMARY KEY, n integer)`.execute(
        opened.database.kysely,
      );
      const stream = uniqueName('tx');
      const outboxBefore = await outboxCount(opened.database);
      await expect(
        store.transaction(async (tx) => {
          await tx.append(stream, 'no_stream', [ev('t', 1)]);
          await sql`INSERT INTO ${sql.id(table)} VALUES (${stream}, 1)`.execute(tx.sql);
          await tx.publish('bv.contract', contractCloudEvent(stream));
          throw new Error('crash before commit');
        }),
      ).rejects.toThrow('crash before commit');
      expect(await store.readStream(stream)).toEqual([]);
      expect(await rowCount(opened.database, table)).toBe(0);
      expect(await outboxCount(opened.database)).toBe(outboxBefore);

      const value = await store.transaction(async (tx) => {
        const r = await tx.append(stream, 'no_stream', [ev('t', 1)]);
        expect(await tx.readStream(stream)).toHaveLength(1);
        await sql`INSERT INTO ${sql.id(table)} VALUES (${stream}, 1)`.execute(tx.sql);
        await tx.publish('bv.contract', [contractCloudEvent(stream), contractCloudEvent(stream)]);
        return r.version;
      });
      expect(value).toBe(1);
      expect(await store.readStream(stream)).toHaveLength(1);
      expect(await rowCount(opened.database, table)).toBe(1);
      expect(await outboxCount(opened.database)).toBe(outboxBefore + 2);
    });

    it('reads all events in global order after a position, limited and filtered by type', async () => {
      const start = await store.head();
      const t1 = uniqueName('type');
      const t2 = uniqueName('type');
      const stream = uniqueName('all');
      await store.append(stream, 'no_stream', [ev(t1, 1), ev(t2, 2), ev(t1, 3), ev(t2, 4)]);
      const all = (await store.readAll({ after: start, limit: 100 })).filter((e) => e.streamId === stream);
      expect(all.map((e) => e.data)).toEqual([1, 2, 3, 4]);
      expect(await store.head()).toBe(all[3]?.position);
      const page = await store.readAll({ after: all[0]?.position ?? 0n, limit: 2, types: [t1, t2] });
      expect(page.map((e) => e.data)).toEqual([2, 3]);
      expect((await store.readAll({ after: start, limit: 10, types: [t1] })).map((e) => e.data)).toEqual([
        1, 3,
      ]);
      await expect(store.readAll({ after: -1n, limit: 10 })).rejects.toBeInstanceOf(ValidationError);
    });

    it('upcasts events stored with an older schema version to the newest shape', async () => {
      const type = uniqueName('item.added');
      const stream = uniqueName('up');
      await store.append(stream, 'no_stream', [ev(type, { qty: '3' })]);
      const v2 = await createEventStore(opened.database, {
        upcasters: [
          { type, fromVersion: 1, upcast: (d) => ({ quantity: Number((d as { qty: string }).qty) }) },
          { type, fromVersion: 2, upcast: (d) => ({ ...(d as object), unit: 'each' }) },
        ],
      });
      await v2.append(stream, 1, [ev(type, { quantity: 4, unit: 'box' })]);
      const read = await v2.readStream(stream);
      expect(read.map((e) => [e.schemaVersion, e.data])).toEqual([
        [1, { quantity: 3, unit: 'each' }],
        [3, { quantity: 4, unit: 'box' }],
      ]);
      const [viaAll] = (await v2.readAll({
        after: (read[0]?.position ?? 1n) - 1n,
        limit: 1,
      })) as StoredEvent[];
      expect(viaAll?.data).toEqual({ quantity: 3, unit: 'each' });
      await expect(
        createEventStore(opened.database, {
          upcasters: [
            { type, fromVersion: 2, upcast: (d) => d },
            { type, fromVersion: 4, upcast: (d) => d },
          ],
        }),
      ).rejects.toThrow(/chain/);
    });

    it('keeps the newest snapshot and discards one whose schema version is stale', async () => {
      const stream = uniqueName('snap');
      expect(await store.loadSnapshot(stream, 1)).toBeUndefined();
      await store.saveSnapshot({ streamId: stream, version: 5, schemaVersion: 1, state: { total: 10 } });
      await store.saveSnapshot({ streamId: stream, version: 3, schemaVersion: 1, state: { total: 6 } });
      expect(await store.loadSnapshot(stream, 1)).toEqual({
        streamId: stream,
        version: 5,
        schemaVersion: 1,
        state: { total: 10 },
      });
      expect(await store.loadSnapshot(stream, 2)).toBeUndefined();
      // Discarded, not just hidden: the old schema's reader finds nothing either.
      expect(await store.loadSnapshot(stream, 1)).toBeUndefined();
      await store.saveSnapshot({
        streamId: stream,
        version: 7,
        schemaVersion: 2,
        state: { total: 12, n: 7 },
      });
      expect((await store.loadSnapshot<{ n: number }>(stream, 2))?.state.n).toBe(7);
      await expect(
        store.saveSnapshot({ streamId: '', version: -1, schemaVersion: 0, state: 1 }),
      ).rejects.toBeInstanceOf(ValidationError);
    });

    it('refuses malformed appends with a ValidationError naming the problem, writing nothing', async () => {
      const stream = uniqueName('bad');
      const bad: Array<[string, unknown, unknown]> = [
        ['', 'no_stream', [ev('a', 1)]],
        [stream, 'no_stream', []],
        [stream, -1, [ev('a', 1)]],
        [stream, 'sometimes', [ev('a', 1)]],
        [stream, 'no_stream', [{ type: '', data: 1 }]],
        [stream, 'no_stream', [{ type: 'a' }]],
        [stream, 'no_stream', [{ type: 'a', data: 1, id: 'not-a-uuid' }]],
        [stream, 'no_stream', 'not a list'],
      ];
      for (const [s, expected, events] of bad) {
        const error = await store.append(s, expected as 'any', events as NewEvent[]).catch((e: unknown) => e);
        expect(error, JSON.stringify([s, expected, events])).toBeInstanceOf(ValidationError);
      }
      expect(await store.readStream(stream)).toEqual([]);
    });

    it('never lets a readAll tailer skip an event while many writers commit out of order', async () => {
      const writers = 8;
      const perWriter = 15;
      const types = [uniqueName('gap.a'), uniqueName('gap.b')];
      const start = await store.head();
      let writing = true;
      const seen: bigint[] = [];
      const tailer = (async () => {
        let after = start;
        for (;;) {
          const done = !writing;
          const batch = await store.readAll({ after, limit: 7, types });
          for (const e of batch) seen.push(e.position);
          after = batch.at(-1)?.position ?? after;
          if (batch.length === 0) {
            if (done) return;
            await sleep(1);
          }
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            // Random pauses inside the transaction, after positions are drawn: without the order
            // lock a later position would commit before an earlier one and the tailer, already
            // past it, would never see the earlier event.
            await store.transaction(async (tx) => {
              await tx.append(`gap-${w}-${i % 3}-${types[0]}`, 'any', [
                ev(types[i % 2] as string, { w, i }),
                ev(types[(i + 1) % 2] as string, { w, i }),
              ]);
              await sleep(Math.random() * 4);
            });
          }
        }),
      );
      writing = false;
      await tailer;
      const all: bigint[] = [];
      for (let after = start; ; ) {
        const batch = await store.readAll({ after, limit: 500, types });
        if (batch.length === 0) break;
        all.push(...batch.map((e) => e.position));
        after = batch.at(-1)?.position ?? after;
      }
      expect(all).toHaveLength(writers * perWriter * 2);
      expect(seen).toEqual(all);
    }, 120_000);
  });
}

function contractCloudEvent(key: string) {
  // A minimal CloudEvent with the partition key, as `createEvent` builds them.
  return {
    type: 'bv.contract.event.v1',
    partitionkey: key,
    toJSON: () => ({
      specversion: '1.0',
      id: randomUUID(),
      source: 'bv://contract',
      type: 'bv.contract.event.v1',
      partitionkey: key,
      data: { key },
    }),
  } as unknown as import('../events/envelope.js').BvEvent;
}

async function rowCount(database: Database, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM ${sql.id(table)}`.execute(
    database.kysely,
  );
  return Number(rows[0]?.n);
}

async function outboxCount(database: Database): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM bv_es_outbox`.execute(
    database.kysely,
  );
  return Number(rows[0]?.n);
}
