import { openDatabase } from '../db/index.js';
import { describeEventStoreContract, type EventStoreTarget } from './contract.js';
import { describeOutboxContract } from './contract-outbox.js';
import { describeProjectionContract } from './contract-projections.js';

// The embedded default: PGlite in memory, one connection, so its transactions never overlap.
const target: EventStoreTarget = {
  async open() {
    const database = await openDatabase();
    return { database, close: () => database.close() };
  },
};

describeEventStoreContract('PGlite', target);
describeProjectionContract('PGlite', target);
describeOutboxContract('PGlite', target);
