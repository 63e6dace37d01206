import { describe, it } from 'vitest';
import { dropSchema, openDatabase } from '../db/index.js';
import { contractEvent, makeEvent } from '../event-log/contract-events.js';
import { eventually, postgresUrl, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventStoreContract } from './contract.js';
import { describeOutboxContract, RecordingLog } from './contract-outbox.js';
import { describeProjectionContract } from './contract-projections.js';
import { startOutboxRelay } from './relay.js';
import { createEventStore } from './store.js';
import { postgresTarget } from './testing-targets.js';

// A real PostgreSQL through the `pg` pool (concurrent transactions really overlap), each opened
// database in a schema of its own that is dropped afterwards.
const available = await serverAvailable('postgres');

const target = postgresTarget;

describeEventStoreContract('PostgreSQL', target, { skip: !available });
describeProjectionContract('PostgreSQL', target, { skip: !available });
describeOutboxContract('PostgreSQL', target, { skip: !available });

describe.skipIf(!available)('outbox relay (PostgreSQL): another process commits', () => {
  it('is woken by NOTIFY when the commit comes through another pool, not by its poll', async () => {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_store_test');
    const writer = await openDatabase({ url, schema, poolSize: 2 });
    const relayDb = await openDatabase({ url, schema, poolSize: 2 });
    try {
      const store = await createEventStore(writer);
      const log = new RecordingLog();
      // A minute's poll: within the wait below only the NOTIFY can wake it.
      const relay = await startOutboxRelay({
        database: relayDb,
        eventLog: log,
        pollIntervalMs: 60_000,
        listenUrl: url,
      });
      try {
        await relay.flush();
        const definition = contractEvent(uniqueName('listen'));
        await store.transaction((tx) => tx.publish(definition.topic, makeEvent(definition, 'k', 1)));
        await eventually(() => log.published.length === 1, 'published after NOTIFY', 20_000);
      } finally {
        await relay.close();
      }
    } finally {
      await dropSchema(writer, schema);
      await Promise.all([writer.close(), relayDb.close()]);
    }
  });
});
