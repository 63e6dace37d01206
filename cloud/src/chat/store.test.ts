import { NotFoundError } from '@bitv/shared';
import { type Database, dropSchema, openDatabase, tables } from '@bitv/shared/db';
import { migrateEventStore } from '@bitv/shared/event-store';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateChat } from './migrations.js';
import { ChatStore, type WriteInput } from './store.js';

const send = (roomId: string, clientId: string): WriteInput => ({
  roomId,
  clientId,
  kind: 'message',
  author: 'ann',
  body: clientId,
  mentions: [],
});

describe('chat store: writes that come together are written in one batch', () => {
  let database: Database;
  let store: ChatStore;

  beforeAll(async () => {
    database = await openDatabase();
    await migrateEventStore(database);
    await migrateChat(database);
    store = new ChatStore(database, new HybridLogicalClock('t'), 't');
  });
  afterAll(() => database.close());

  it('a resend and a refused edit within a batch take no sequence; each write gets its own answer', async () => {
    // Submitted together: the first goes at once, the rest gather into the next batch.
    const outcomes = await Promise.allSettled([
      store.write(send('site:a', 'm1')),
      store.write(send('site:b', 'm1')),
      store.write(send('site:a', 'm2')),
      store.write(send('site:a', 'm2')),
      store.write({ ...send('site:a', 'e1'), kind: 'edit', messageId: 'ann/none' }),
      store.write(send('site:a', 'm3')),
    ]);
    const value = (i: number) => {
      const o = outcomes[i];
      if (o?.status !== 'fulfilled') throw new Error(`write ${i} failed`);
      return o.value;
    };
    expect([0, 2, 5].map((i) => value(i).event.seq)).toEqual([1, 2, 3]);
    expect(value(1).event.seq).toBe(1);
    expect(value(3)).toMatchObject({ duplicate: true, event: { seq: 2, eventId: 'ann/m2' } });
    const refused = outcomes[4];
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(NotFoundError);
    expect(await store.head('site:a')).toBe(3);
    expect((await store.after('site:a', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
    // Every stored write, and only those, went to the outbox for the other sites.
    const outbox = await tables<{ bv_es_outbox: { topic: string } }>(database)
      .selectFrom('bv_es_outbox')
      .select('topic')
      .execute();
    expect(outbox).toHaveLength(4);
  });

  it('an edit in the batch of its message finds it; a refusal mid-room and resends give their numbers back', async () => {
    await store.write(send('site:c', 'x0'));
    // The first goes at once; the other four gather into the next batch (the edit finds x2 there).
    const outcomes = await Promise.allSettled([
      store.write(send('site:c', 'x1')),
      store.write(send('site:c', 'x2')),
      store.write({ ...send('site:c', 'x3'), author: 'bob', kind: 'delete', messageId: 'ann/x2' }),
      store.write({ ...send('site:c', 'x4'), kind: 'edit', messageId: 'ann/x2', body: 'changed' }),
      store.write(send('site:c', 'x0')),
    ]);
    const seqs = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.event.seq : o.reason.name));
    expect(seqs).toEqual([2, 3, 'ForbiddenError', 4, 1]);
    expect(outcomes[3]).toMatchObject({ value: { event: { kind: 'edit', messageId: 'ann/x2' } } });
    expect(outcomes[4]).toMatchObject({ value: { duplicate: true } });
    expect(await store.head('site:c')).toBe(4);
    // A batch of nothing but resends stores nothing and leaves the head where it was.
    const again = await Promise.all([store.write(send('site:c', 'x1')), store.write(send('site:c', 'x2'))]);
    expect(again.map((r) => [r.duplicate, r.event.seq])).toEqual([
      [true, 2],
      [true, 3],
    ]);
    expect(await store.head('site:c')).toBe(4);
    expect((await store.after('site:c', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('a batch starts at most once per the write interval given: a write soon after another waits for it', async () => {
    // The interval's timer is faked (the database's own I/O is not): the second write is held
    // until the clock passes the interval, whatever the machine's speed.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const spaced = new ChatStore(database, new HybridLogicalClock('s'), 's', 300);
      await spaced.write(send('site:d', 'y1'));
      let second = false;
      const written = spaced.write(send('site:d', 'y2')).then((r) => {
        second = true;
        return r;
      });
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(second).toBe(false);
      await vi.advanceTimersByTimeAsync(300);
      expect((await written).event.seq).toBe(2);
    } finally {
      vi.useRealTimers();
    }
    expect((await store.after('site:d', 0, 10)).map((e) => e.seq)).toEqual([1, 2]);
  });
});

const available = await serverAvailable('postgres');

describe.skipIf(!available)('chat store (PostgreSQL): two instances writing the same rooms at once', () => {
  it('each write is stored once whichever instance took it; sequences stay gapless; the outbox holds each once', async () => {
    const schema = uniqueName('chat_store');
    const first = await openDatabase({ url: postgresUrl(), schema, poolSize: 2 });
    const second = await openDatabase({ url: postgresUrl(), schema, poolSize: 2 });
    try {
      await migrateEventStore(first);
      await migrateChat(first);
      // No write interval: the batches of both instances overlap as much as they can.
      const stores = [first, second].map(
        (db, n) => new ChatStore(db, new HybridLogicalClock(`i${n}`), 'p', 0),
      );
      const rooms = ['site:p', 'site:q', 'site:r'];
      // Both instances take every write (a client that resent to the other after a reconnect).
      const writes = rooms.flatMap((room) => Array.from({ length: 40 }, (_, k) => send(room, `c${k}`)));
      const answers = await Promise.all(stores.flatMap((store) => writes.map((w) => store.write(w))));

      const byId = new Map<string, { stored: number; seqs: Set<number> }>();
      for (const a of answers) {
        const id = `${a.event.roomId}/${a.event.eventId}`;
        const entry = byId.get(id) ?? { stored: 0, seqs: new Set<number>() };
        if (!a.duplicate) entry.stored += 1;
        entry.seqs.add(a.event.seq);
        byId.set(id, entry);
      }
      expect(byId.size).toBe(writes.length);
      // Once each, and the resend's answer is the stored event's number.
      for (const entry of byId.values()) {
        expect(entry.stored).toBe(1);
        expect(entry.seqs.size).toBe(1);
      }
      for (const room of rooms) {
        expect(await stores[0]!.head(room)).toBe(40);
        expect((await stores[1]!.after(room, 0, 100)).map((e) => e.seq)).toEqual(
          Array.from({ length: 40 }, (_, k) => k + 1),
        );
      }
      const outbox = await tables<{ bv_es_outbox: { topic: string } }>(first)
        .selectFrom('bv_es_outbox')
        .select('topic')
        .execute();
      expect(outbox).toHaveLength(writes.length);
    } finally {
      await second.close();
      await dropSchema(first, schema);
      await first.close();
    }
  });
});
