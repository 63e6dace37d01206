import { type Database, openDatabase } from '../db/index.js';
import { tempDir } from '../testing/index.js';
import { describeEventLogContract } from './contract.js';
import { createEventLog } from './create.js';

// The embedded default: PGlite in a temporary folder, so the kill test's child process can open
// the same database while the suite has let go of it (PGlite allows one process at a time).
const databaseLog = { leaseMs: 1_500, pollIntervalMs: 50, retentionIntervalMs: 0 };

describeEventLogContract('database (PGlite)', async () => {
  const dir = await tempDir('bv-event-log-pglite-');
  let database: Database | undefined = await openDatabase({ dataDir: dir.path });
  const current = () => {
    if (!database) throw new Error('the PGlite database is released to another process');
    return database;
  };
  return {
    open: ({ registry, metrics }) => createEventLog({ database: current(), databaseLog, registry, metrics }),
    child: { database: { dataDir: dir.path }, databaseLog },
    release: async () => {
      await current().close();
      database = undefined;
    },
    reacquire: async () => {
      database = await openDatabase({ dataDir: dir.path });
    },
    close: async () => {
      await database?.close();
      await dir.remove();
    },
  };
});
