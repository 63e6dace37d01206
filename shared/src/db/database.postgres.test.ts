import { describe } from 'vitest';
import { postgresUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';
import { describeDatabaseContract } from './contract.js';
import { dropSchema, openDatabase } from './database.js';

const available = await serverAvailable('postgres');

describe.skipIf(!available)('postgres', () => {
  describeDatabaseContract('postgres (pg pool)', async () => {
    const schema = uniqueName('contract');
    const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 5 });
    return {
      database,
      dispose: async () => {
        await dropSchema(database, schema);
        await database.close();
      },
    };
  });
});
