import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { contractEvent, makeEvent } from '../event-log/contract-events.js';
import { serverAvailable, uniqueName } from '../testing/index.js';
import { queueOutbox } from './outbox-write.js';
import { migrateEventStore } from './schema.js';
import { postgresTarget } from './testing-targets.js';

const available = await serverAvailable('postgres');

describe.skipIf(!available)('queueOutbox (PostgreSQL): one statement under the order lock', () => {
  it('keeps each call’s events in order and ids in commit order when transactions overlap', async () => {
    const { database, close } = await postgresTarget.open();
    try {
      await migrateEventStore(database);
      const definition = contractEvent(uniqueName('outbox'));
      const events = (key: string) => [0, 1, 2].map((n) => makeEvent(definition, key, n));
      let releaseFirst: () => void = () => undefined;
      const firstMayCommit = new Promise<void>((r) => {
        releaseFirst = r;
      });
      let firstQueued: () => void = () => undefined;
      const firstHasLock = new Promise<void>((r) => {
        firstQueued = r;
      });
      const order: string[] = [];
      const first = database.kysely.transaction().execute(async (trx) => {
        await queueOutbox(trx, 'bv.test', events('first'));
        firstQueued();
        await firstMayCommit;
        order.push('first commits');
      });
      await firstHasLock;
      // The second starts while the first holds the order lock: it must wait for that commit.
      const second = database.kysely.transaction().execute(async (trx) => {
        await queueOutbox(trx, 'bv.test', events('second'));
        order.push('second queued');
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(order).toEqual([]);
      releaseFirst();
      await Promise.all([first, second]);
      expect(order).toEqual(['first commits', 'second queued']);
      const { rows } = await sql<{ partition_key: string; event: { data: { n: number } } }>`
        SELECT partition_key, event FROM bv_es_outbox ORDER BY id`.execute(database.kysely);
      expect(rows.map((r) => `${r.partition_key}:${r.event.data.n}`)).toEqual([
        'first:0',
        'first:1',
        'first:2',
        'second:0',
        'second:1',
        'second:2',
      ]);
    } finally {
      await close();
    }
  });
});
