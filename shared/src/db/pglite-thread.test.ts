import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, tables } from './database.js';
import { PgliteThread } from './pglite-thread.js';

// The workers the client starts, so a test can kill one as a crash would.
const workers = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...real, Worker: RecordedWorker };
});

describe('PGlite on a worker thread', () => {
  let client: PgliteThread;
  beforeAll(async () => {
    client = await PgliteThread.create();
  });
  afterAll(() => client.close());

  it('returns the types PGlite returns in process', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT $1::timestamptz AS at, $2::bytea AS bytes, $3::jsonb AS doc, $4::int8 AS big, 7::int8 AS small,
              $5::text AS nothing, $6::int[] AS ints, $7::text[] AS texts, $8::boolean AS yes, 1.5::float8 AS real`,
      [at, Buffer.from('hello'), { a: [1, 'x'], b: null }, 2n ** 60n, null, [1, 2, 3], ['a', 'b'], true],
    );
    expect(rows).toEqual([
      {
        at,
        bytes: new Uint8Array(Buffer.from('hello')),
        doc: { a: [1, 'x'], b: null },
        big: 2n ** 60n,
        small: 7,
        nothing: null,
        ints: [1, 2, 3],
        texts: ['a', 'b'],
        yes: true,
        real: 1.5,
      },
    ]);
    expect(rows[0]?.at).toBeInstanceOf(Date);
    expect(rows[0]?.bytes).toBeInstanceOf(Uint8Array);
  });

  it('reports affected rows and fields', async () => {
    await client.query('CREATE TABLE counted (id int)');
    const inserted = await client.query('INSERT INTO counted VALUES (1), (2)');
    expect(inserted.affectedRows).toBe(2);
    const { fields } = await client.query('SELECT id FROM counted');
    expect(fields).toEqual([{ name: 'id', dataTypeID: 23 }]);
  });

  it('keeps the fields of a database error', async () => {
    await client.query('CREATE TABLE uniq (id text CONSTRAINT uniq_pk PRIMARY KEY)');
    await client.query(`INSERT INTO uniq VALUES ('a')`);
    const error = await client.query(`INSERT INTO uniq VALUES ('a')`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      message: 'duplicate key value violates unique constraint "uniq_pk"',
      code: '23505',
      constraint: 'uniq_pk',
      table: 'uniq',
      schema: 'public',
      severity: 'ERROR',
      detail: 'Key (id)=(a) already exists.',
    });
    // and the connection is still usable after it
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('leaves the event loop free while a statement runs', async () => {
    // In process the statement holds the thread: a timer set once it has started could only fire
    // after it had answered. On the thread the timer fires first.
    const order: string[] = [];
    const statement = client
      .query('SELECT count(*) FROM generate_series(1, 3000000)')
      .then(() => order.push('statement'));
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        order.push('timer');
        resolve();
      }, 0),
    );
    await statement;
    expect(order).toEqual(['timer', 'statement']);
  });
});

describe('PGlite thread lifetime', () => {
  it('rejects a query after close', async () => {
    const client = await PgliteThread.create();
    await client.close();
    expect(client.closed).toBe(true);
    await expect(client.query('SELECT 1')).rejects.toThrow('PGlite database is closed');
    await client.close(); // a second close is harmless
  });

  it('rejects every pending query, and later ones, when the worker dies', async () => {
    const client = await PgliteThread.create();
    const worker = workers.at(-1)!;
    const pending = [1, 2, 3].map(() => client.query('SELECT count(*) FROM generate_series(1, 2000000)'));
    await worker.terminate();
    for (const query of pending) await expect(query).rejects.toThrow(/PGlite worker exited/);
    await expect(client.query('SELECT 1')).rejects.toThrow(/PGlite worker exited/);
    await client.close();
  });

  it('does not hold the process open, but keeps it for a query in flight', async () => {
    const script = `
      import { openDatabase } from ${JSON.stringify(fileURLToPath(new URL('./database.ts', import.meta.url)))};
      const database = await openDatabase();
      await database.ping();
      console.log('answered');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: 'answered' });
  });
});

describe('PGlite thread behind Kysely', () => {
  it('commits and rolls back transactions', async () => {
    const database = await openDatabase();
    try {
      const db = tables<{ item: { id: number } }>(database);
      await database.kysely.schema.createTable('item').addColumn('id', 'integer').execute();
      await db.transaction().execute((trx) => trx.insertInto('item').values({ id: 1 }).execute());
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('item').values({ id: 2 }).execute();
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await db.selectFrom('item').selectAll().execute()).toEqual([{ id: 1 }]);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM item`.execute(database.kysely);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await database.close();
    }
  });
});
