import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './database.js';
import { tables } from './database.js';
import { migrate } from './migrate.js';

interface ContractTables {
  widget: { id: string; name: string; grams: number; attrs: unknown; created_at: Date };
  counter: { id: string; value: number };
}

const migrations = {
  '0001_widget': {
    async up(db: Database['kysely']) {
      await db.schema
        .createTable('widget')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('grams', 'bigint', (c) => c.notNull())
        .addColumn('attrs', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0002_counter': {
    async up(db: Database['kysely']) {
      await db.schema
        .createTable('counter')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('value', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * What every implementation of the SQL port must do the same way: the components above it
 * (event log, registry, inventory) are written once against this behaviour.
 */
export function describeDatabaseContract(
  name: string,
  open: () => Promise<{ database: Database; dispose: () => Promise<void> }>,
): void {
  describe(`database contract: ${name}`, () => {
    let database: Database;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ database, dispose } = await open());
    });
    afterAll(async () => {
      await dispose?.();
    });

    it('runs migrations once and reports none the second time', async () => {
      expect(await migrate(database, 'contract', migrations)).toEqual(['0001_widget', '0002_counter']);
      expect(await migrate(database, 'contract', migrations)).toEqual([]);
    });

    it('keeps each component’s migration history apart', async () => {
      const other = { '0001_widget': { up: async () => undefined } };
      expect(await migrate(database, 'contract_other', other)).toEqual(['0001_widget']);
    });

    it('round-trips text, 64-bit integers, JSON and timestamps', async () => {
      const db = tables<ContractTables>(database);
      const big = 2 ** 53 - 1;
      await db
        .insertInto('widget')
        .values({
          id: 'w1',
          name: 'ünïcødé ✓',
          grams: big,
          attrs: JSON.stringify({ bins: [1, 2], ok: true }),
          created_at: new Date('2026-01-02T03:04:05.678Z'),
        })
        .execute();
      const row = await db.selectFrom('widget').selectAll().where('id', '=', 'w1').executeTakeFirstOrThrow();
      expect(row.name).toBe('ünïcødé ✓');
      // bigint comes back as text from both drivers: callers convert explicitly, never by accident.
      expect(BigInt(row.grams as unknown as string)).toBe(BigInt(big));
      expect(row.attrs).toEqual({ bins: [1, 2], ok: true });
      expect(new Date(row.created_at).toISOString()).toBe('2026-01-02T03:04:05.678Z');
    });

    it('rolls a failed transaction back completely', async () => {
      const db = tables<ContractTables>(database);
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('counter').values({ id: 'rollback', value: 1 }).execute();
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.selectFrom('counter').selectAll().where('id', '=', 'rollback').execute()).toEqual([]);
    });

    it('enforces unique keys with an error the caller can recognise', async () => {
      const db = tables<ContractTables>(database);
      await db.insertInto('counter').values({ id: 'dup', value: 1 }).execute();
      const error = await db
        .insertInto('counter')
        .values({ id: 'dup', value: 2 })
        .execute()
        .catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('23505');
      const upserted = await db
        .insertInto('counter')
        .values({ id: 'dup', value: 5 })
        .onConflict((oc) => oc.column('id').doUpdateSet({ value: (eb) => eb('counter.value', '+', 5) }))
        .returning('value')
        .executeTakeFirstOrThrow();
      expect(upserted.value).toBe(6);
    });

    it('serialises concurrent read-modify-write transactions with row locks', async () => {
      const db = tables<ContractTables>(database);
      await db.insertInto('counter').values({ id: 'race', value: 0 }).execute();
      const increments = 20;
      await Promise.all(
        Array.from({ length: increments }, () =>
          db.transaction().execute(async (trx) => {
            const { value } = await trx
              .selectFrom('counter')
              .select('value')
              .where('id', '=', 'race')
              .forUpdate()
              .executeTakeFirstOrThrow();
            await trx
              .updateTable('counter')
              .set({ value: value + 1 })
              .where('id', '=', 'race')
              .execute();
          }),
        ),
      );
      const row = await db
        .selectFrom('counter')
        .select('value')
        .where('id', '=', 'race')
        .executeTakeFirstOrThrow();
      expect(row.value).toBe(increments);
    });

    it('answers ping and reports its kind', async () => {
      await expect(database.ping()).resolves.toBeUndefined();
      expect(['pglite', 'postgres']).toContain(database.kind);
    });
  });
}
