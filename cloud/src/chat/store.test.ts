import { NotFoundError } from '@bitv/shared';
import { type Database, openDatabase, tables } from '@bitv/shared/db';
import { migrateEventStore } from '@bitv/shared/event-store';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
