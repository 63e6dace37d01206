import { dropSchema, openDatabase, tables } from '@bitv/shared/db';
import { migrateEventStore } from '@bitv/shared/event-store';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { migrateChat } from './migrations.js';
import { ChatStore, type WriteInput } from './store.js';

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
      const send = (roomId: string, clientId: string): WriteInput => ({
        roomId,
        clientId,
        kind: 'message',
        author: 'ann',
        body: clientId,
        mentions: [],
      });
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
