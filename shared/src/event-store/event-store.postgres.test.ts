import { dropSchema, openDatabase } from '../db/index.js';
import { postgresUrl, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventStoreContract, type EventStoreTarget } from './contract.js';
import { describeOutboxContract } from './contract-outbox.js';
import { describeProjectionContract } from './contract-projections.js';

// A real PostgreSQL through the `pg` pool (concurrent transactions really overlap), each opened
// database in a schema of its own that is dropped afterwards.
const available = await serverAvailable('postgres');

const target: EventStoreTarget = {
  async open() {
    const url = postgresUrl();
    const schema = uniqueName('bv_event_store_test');
    const database = await openDatabase({ url, schema, poolSize: 10 });
    return {
      database,
      url,
      close: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  },
};

describeEventStoreContract('PostgreSQL', target, { skip: !available });
describeProjectionContract('PostgreSQL', target, { skip: !available });
describeOutboxContract('PostgreSQL', target, { skip: !available });
