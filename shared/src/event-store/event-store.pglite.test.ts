import { openDatabase } from '../db/index.js';
import { describeEventStoreContract } from './contract.js';

// The embedded default: PGlite in memory, one connection, so concurrency is serialised by it.
describeEventStoreContract('PGlite', async () => {
  const database = await openDatabase();
  return { database, close: () => database.close() };
});
