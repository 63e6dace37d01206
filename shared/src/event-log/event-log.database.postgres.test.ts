import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { dropSchema, openDatabase } from '../db/index.js';
import { EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { postgresUrl, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventLogContract } from './contract.js';
import { contractEvent, makeEvent } from './contract-events.js';
import { createEventLog } from './create.js';

// PostgreSQL through the `pg` pool, in a schema of its own that is dropped afterwards.
const databaseLog = { leaseMs: 1_500, pollIntervalMs: 50, retentionIntervalMs: 0 };
const available = await serverAvailable('postgres');

describeEventLogContract(
  'database (PostgreSQL)',
  async () => {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_log_test');
    const database = await openDatabase({ url, schema, poolSize: 4 });
    return {
      open: ({ registry, metrics }) => createEventLog({ database, databaseLog, registry, metrics }),
      child: { database: { url, schema, poolSize: 2 }, databaseLog },
      close: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  },
  { skip: !available },
);

describe.skipIf(!available)('database event log (PostgreSQL): concurrent publishers', () => {
  it('assigns gap-free offsets when two pools publish to one partition at once', async () => {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_log_test');
    const topic = uniqueName('pg.concurrent');
    const definition = contractEvent(topic);
    const registry = new EventRegistry([definition]);
    const [a, b] = [
      await openDatabase({ url, schema, poolSize: 5 }),
      await openDatabase({ url, schema, poolSize: 5 }),
    ];
    try {
      const logA = await createEventLog({ database: a, databaseLog, registry, metrics: createRegistry() });
      const logB = await createEventLog({ database: b, databaseLog, registry, metrics: createRegistry() });
      // Ten publishers on each pool, one key (one partition), 10 single-event publishes each.
      await Promise.all(
        [logA, logB].flatMap((log, side) =>
          Array.from({ length: 10 }, async (_, w) => {
            for (let i = 0; i < 10; i++)
              await log.publish(topic, makeEvent(definition, 'one-key', side * 1000 + w * 10 + i));
          }),
        ),
      );
      const { rows } = await sql<{ position: string | number; n: number }>`
        SELECT position, (event->'data'->>'n')::integer AS n
        FROM bv_event_log_events WHERE topic = ${topic} ORDER BY position`.execute(a.kysely);
      expect(rows.map((r) => Number(r.position))).toEqual(Array.from({ length: 200 }, (_, i) => i));
      // Each publisher's own events keep their order in the log.
      for (const base of [0, 1000]) {
        for (let w = 0; w < 10; w++) {
          const mine = rows.map((r) => r.n).filter((n) => n >= base + w * 10 && n < base + w * 10 + 10);
          expect(mine).toEqual(Array.from({ length: 10 }, (_, i) => base + w * 10 + i));
        }
      }
      await Promise.all([logA.close(), logB.close()]);
    } finally {
      await dropSchema(a, schema);
      await Promise.all([a.close(), b.close()]);
    }
  });
});
