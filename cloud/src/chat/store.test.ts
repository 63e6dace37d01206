import { NotFoundError } from '@bitv/shared';
import { type Database, openDatabase, tables } from '@bitv/shared/db';
import { migrateEventStore } from '@bitv/shared/event-store';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateChat } from './migrations.js';
import { ChatStore, type WriteInput } from './store.js';

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

  const send = (roomId: string, clientId: string): WriteInput => ({
    roomId,
    clientId,
    kind: 'message',
    author: 'ann',
    body: clientId,
    mentions: [],
  });

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
