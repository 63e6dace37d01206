import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';
import { type Database, dropSchema, openDatabase } from './database.js';
import { migrate } from './migrate.js';

const available = await serverAvailable('postgres');

const migrations = {
  '0001_shelf': {
    async up(db: Database['kysely']) {
      await db.schema
        .createTable('shelf')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .execute();
    },
  },
};

// Tests and tenants share one server: Kysely scans every schema's tables (and their columns) to
// find its own migration table, and a schema dropped or a column altered by someone else during
// that scan failed the migration with "schema does not exist" or "column does not exist" (both
// seen in CI when one test tore down while another cloud started). The scan is now of our schema.
describe.skipIf(!available)('migrate on a server where other schemas come and go', () => {
  const opened: Array<{ database: Database; schema: string }> = [];
  afterAll(async () => {
    for (const { database, schema } of opened) {
      await dropSchema(database, schema);
      await database.close();
    }
  });

  it('migrates every fresh schema while another connection keeps creating and dropping schemas', async () => {
    const churnerSchema = uniqueName('churn');
    const churner = await openDatabase({ url: postgresUrl(), schema: churnerSchema, poolSize: 2 });
    opened.push({ database: churner, schema: churnerSchema });
    let stop = false;
    let churned = 0;
    const churn = (async () => {
      // Bounded: stops when the migrations finish or after 2,000 schemas, whichever comes first.
      while (!stop && churned < 2000) {
        const name = uniqueName('churn_tmp');
        await sql.raw(`CREATE SCHEMA "${name}"`).execute(churner.kysely);
        await sql
          .raw(`CREATE TABLE "${name}".t (id serial PRIMARY KEY, a int, b int)`)
          .execute(churner.kysely);
        await sql.raw(`ALTER TABLE "${name}".t DROP COLUMN a`).execute(churner.kysely);
        await sql.raw(`DROP SCHEMA "${name}" CASCADE`).execute(churner.kysely);
        churned++;
      }
    })();
    try {
      for (let i = 0; i < 12; i++) {
        const schema = uniqueName('migrate_churn');
        const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 2 });
        opened.push({ database, schema });
        expect(await migrate(database, 'churn', migrations)).toEqual(['0001_shelf']);
      }
    } finally {
      stop = true;
      await churn;
    }
    expect(churned).toBeGreaterThan(0);
  }, 120_000);
});
