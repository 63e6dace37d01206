import { dropSchema, openDatabase } from '../db/index.js';
import { postgresUrl, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventStoreContract } from './contract.js';

// A real PostgreSQL through the `pg` pool (concurrent transactions really overlap), in a schema
// of its own that is dropped afterwards.
const available = await serverAvailable('postgres');

describeEventStoreContract(
  'PostgreSQL',
  async () => {
    const schema = uniqueName('bv_event_store_test');
    const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 10 });
    return {
      database,
      close: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  },
  { skip: !available },
);
