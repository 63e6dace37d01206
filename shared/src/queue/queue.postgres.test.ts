import { describe } from 'vitest';
import { dropSchema, openDatabase } from '../db/index.js';
import { postgresUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';
import { openDatabaseQueue } from './database.js';
import { describeQueueContract, quietLogger, testRegistry } from './queue.contract.js';

const available = await serverAvailable('postgres');

describe.skipIf(!available)('postgres', () => {
  describeQueueContract('database queue on PostgreSQL (SKIP LOCKED)', {
    open: async ({ failureDelayMs, abandonMs }) => {
      const schema = uniqueName('queue');
      const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
      const queue = await openDatabaseQueue({
        database,
        logger: quietLogger(),
        metrics: testRegistry(),
        failureDelayMs,
        leaseMs: abandonMs,
        pollMs: 50,
      });
      return {
        queue,
        // The consumer's process "dies": its lease expires and another claim takes the row.
        cut: async () => undefined,
        dispose: async () => {
          await queue.close();
          await dropSchema(database, schema);
          await database.close();
        },
      };
    },
  });
});
