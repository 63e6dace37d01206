import { dropSchema, openDatabase } from '../db/index.js';
import { postgresUrl, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventLogContract } from './contract.js';
import { createEventLog } from './create.js';

// PostgreSQL through the `pg` pool, in a schema of its own that is dropped afterwards.
const databaseLog = { leaseMs: 1_500, pollIntervalMs: 50, retentionIntervalMs: 0 };

describeEventLogContract(
  'database (PostgreSQL)',
  async () => {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_log_test');
    const database = await openDatabase({ url, schema });
    return {
      open: ({ registry, metrics }) => createEventLog({ database, databaseLog, registry, metrics }),
      child: { database: { url, schema }, databaseLog },
      close: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  },
  { skip: !(await serverAvailable('postgres')) },
);
