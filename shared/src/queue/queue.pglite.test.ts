import { openDatabase } from '../db/index.js';
import { openDatabaseQueue } from './database.js';
import { describeQueueContract, quietLogger, testRegistry } from './queue.contract.js';

describeQueueContract('database queue on PGlite', {
  open: async ({ failureDelayMs, abandonMs }) => {
    const database = await openDatabase();
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
      // No connection to cut in-process: the unsettled lease simply expires, as after a crash.
      cut: async () => undefined,
      dispose: async () => {
        await queue.close();
        await database.close();
      },
    };
  },
});
