import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/temp.js';
import { describeDatabaseContract } from './contract.js';
import { openDatabase, tables } from './database.js';

describeDatabaseContract('pglite in memory', async () => {
  const database = await openDatabase();
  return { database, dispose: () => database.close() };
});

describeDatabaseContract('pglite in a data folder, own schema', async () => {
  const dir = await tempDir();
  const database = await openDatabase({ dataDir: dir.path, schema: 'contract' });
  return {
    database,
    dispose: async () => {
      await database.close();
      await dir.remove();
    },
  };
});

describe('pglite data folder', () => {
  it('keeps committed rows across close and reopen', async () => {
    const dir = await tempDir();
    try {
      const first = await openDatabase({ dataDir: dir.path });
      await first.kysely.schema.createTable('kept').addColumn('id', 'integer').execute();
      await tables<{ kept: { id: number } }>(first).insertInto('kept').values({ id: 7 }).execute();
      await first.close();
      const second = await openDatabase({ dataDir: dir.path });
      const rows = await tables<{ kept: { id: number } }>(second).selectFrom('kept').selectAll().execute();
      expect(rows).toEqual([{ id: 7 }]);
      await second.close();
    } finally {
      await dir.remove();
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openDatabase({ schema: 'x; DROP TABLE y' })).rejects.toThrow('invalid schema name');
  });
});
