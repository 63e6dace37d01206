/**
 * Event store benchmarks (npm run bench -w shared), written to docs/benchmarks.md:
 * 1. append with concurrency checks (expected version, order lock, one transaction per append)
 *    against a raw batched INSERT of the same rows into a table of the same shape, interleaved
 *    round by round so a loaded machine weighs on both alike (goal: >= 0.7x);
 * 2. projection rebuild: events per second replayed into a read model from zero in one process
 *    (goal: >= 50,000/s).
 * On PGlite (embedded default) and PostgreSQL (when reachable). BENCH_EVENTS sets the log size.
 */
import { loadavg } from 'node:os';
import { sql } from 'kysely';
import { machineLine, table, writeBenchSection } from '../src/bench/index.js';
import { type Database, dropSchema, openDatabase } from '../src/db/index.js';
import type { Projection } from '../src/event-store/index.js';
import {
  createEventStore,
  type EventStore,
  type NewEvent,
  projectionRunnerDefaults,
  startProjections,
} from '../src/event-store/index.js';
import { postgresUrl, serverAvailable, uniqueName } from '../src/testing/index.js';

const total = Number(process.env.BENCH_EVENTS ?? 50_000);
const batch = 50;
const rounds = 10;
const appendGoal = 0.7;
const rebuildGoal = 50_000;

interface Result {
  db: string;
  appendRate: number;
  rawRate: number;
  singleRate: number;
  rawSingleRate: number;
  rebuildRate: number;
  /** Events per CPU-second of this process: on PGlite all of the work, so it holds on a loaded machine. */
  rebuildCpuRate: number;
  rebuilt: number;
  /** A plain SELECT of the same rows as nine columns, the way a naive replay would read them. */
  readRate: number;
}

function events(n: number, offset: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    type: (offset + i) % 3 === 0 ? 'item.removed' : 'item.added',
    data: { sku: `SKU-${(offset + i) % 97}`, qty: ((offset + i) % 5) + 1 },
    metadata: { actor: 'bench' },
  }));
}

async function rawInsert(database: Database, streamId: string, list: NewEvent[], fromVersion: number) {
  const values = list.map(
    (e, i) => sql`(gen_random_uuid(), ${streamId}, ${fromVersion + i + 1}, ${e.type}, 1,
      ${JSON.stringify(e.data)}::jsonb, ${JSON.stringify(e.metadata ?? {})}::jsonb)`,
  );
  await sql`INSERT INTO bench_raw_events (id, stream_id, version, type, schema_version, data, metadata)
    VALUES ${sql.join(values)}`.execute(database.kysely);
}

/** Appends `count` events in `size`-event appends (one stream per append) both ways, interleaved. */
async function appendBench(database: Database, store: EventStore, count: number, size: number) {
  const perRound = Math.max(1, Math.floor(count / size / rounds));
  let storeMs = 0;
  let rawMs = 0;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < perRound; i++) {
      await store.append(`cart-${size}-${r}-${i}`, 'no_stream', events(size, n + i * size));
    }
    storeMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < perRound; i++) {
      await rawInsert(database, `cart-${size}-${r}-${i}`, events(size, n + i * size), 0);
    }
    rawMs += performance.now() - t;
    n += perRound * size;
  }
  return { store: n / (storeMs / 1000), raw: n / (rawMs / 1000), events: n };
}

/** Units per SKU: one multi-row upsert per batch, as a real rebuild-friendly projection does. */
function unitsPerSku(): Projection {
  return {
    name: 'bench-units',
    types: ['item.added', 'item.removed'],
    async applyBatch(tx, list) {
      const sums = new Map<string, number>();
      for (const e of list) {
        const d = e.data as { sku: string; qty: number };
        sums.set(d.sku, (sums.get(d.sku) ?? 0) + (e.type === 'item.added' ? d.qty : -d.qty));
      }
      const values = [...sums].map(([sku, units]) => sql`(${sku}, ${units})`);
      await sql`INSERT INTO bench_units (sku, units) VALUES ${sql.join(values)}
        ON CONFLICT (sku) DO UPDATE SET units = bench_units.units + excluded.units`.execute(tx.sql);
    },
    async reset(tx) {
      await sql`DELETE FROM bench_units`.execute(tx.sql);
    },
  };
}

async function run(name: string, database: Database): Promise<Result> {
  const store = await createEventStore(database);
  await sql`CREATE TABLE bench_raw_events (LIKE bv_es_events INCLUDING ALL)`.execute(database.kysely);
  await sql`CREATE TABLE bench_units (sku text PRIMARY KEY, units integer NOT NULL)`.execute(database.kysely);
  const single = await appendBench(database, store, Math.min(2_000, total / 10), 1);
  const batched = await appendBench(database, store, total, batch);
  console.log(
    `${name}: append x${batch} ${batched.store.toFixed(0)}/s vs raw ${batched.raw.toFixed(0)}/s; x1 ${single.store.toFixed(0)}/s vs raw ${single.raw.toFixed(0)}/s`,
  );

  const runner = await startProjections({
    store,
    database,
    projections: [unitsPerSku()],
    follow: false,
  });
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const rebuilt = await runner.rebuild('bench-units');
  const rebuildRate = rebuilt / ((performance.now() - start) / 1000);
  const cpu = process.cpuUsage(cpuStart);
  const rebuildCpuRate = rebuilt / ((cpu.user + cpu.system) / 1e6);
  await runner.close();
  // The read model must be right, or the speed means nothing.
  const { rows } = await sql<{
    total: number;
  }>`SELECT coalesce(sum(units), 0)::integer AS total FROM bench_units`.execute(database.kysely);
  const expected = await sql<{
    total: number;
  }>`SELECT coalesce(sum(CASE WHEN type = 'item.added' THEN 1 ELSE -1 END
      * (data->>'qty')::integer), 0)::integer AS total FROM bv_es_events`.execute(database.kysely);
  if (Number(rows[0]?.total) !== Number(expected.rows[0]?.total))
    throw new Error('rebuilt read model differs from the log');
  const readStart = performance.now();
  const { rows: all } =
    await sql`SELECT position, id, stream_id, version, type, schema_version, data, metadata, recorded_at
    FROM bv_es_events ORDER BY position`.execute(database.kysely);
  const readRate = all.length / ((performance.now() - readStart) / 1000);
  console.log(
    `${name}: rebuild ${rebuilt} events at ${rebuildRate.toFixed(0)}/s (goal ${rebuildGoal}/s), ${rebuildCpuRate.toFixed(0)} per CPU-second here; plain SELECT ${readRate.toFixed(0)}/s`,
  );
  return {
    db: name,
    appendRate: batched.store,
    rawRate: batched.raw,
    singleRate: single.store,
    rawSingleRate: single.raw,
    rebuildRate,
    rebuildCpuRate,
    rebuilt,
    readRate,
  };
}

const results: Result[] = [];
{
  const database = await openDatabase();
  try {
    results.push(await run('PGlite', database));
  } finally {
    await database.close();
  }
}
if (await serverAvailable('postgres')) {
  const schema = uniqueName('bv_es_bench');
  const database = await openDatabase({ url: postgresUrl(), schema });
  try {
    results.push(await run('PostgreSQL', database));
  } finally {
    await dropSchema(database, schema);
    await database.close();
  }
}

const k = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const verdict = (ok: boolean) => (ok ? 'meets' : 'BELOW');
const md = `## Event store (shared/bench/event-store.bench.ts)

${machineLine()}, load average ${loadavg()[0]?.toFixed(1)} at the end (the machine is shared; the
two sides of each ratio run interleaved, round by round, so load weighs on both).

Append with concurrency checks (order lock, stream version check, multi-row INSERT, all or
nothing: one autocommitted statement on PostgreSQL, a transaction on PGlite) against a raw INSERT of the same rows into a table of the same shape and
indexes (\`LIKE bv_es_events INCLUDING ALL\`), ${batch} events per append, ${total.toLocaleString('en-US')} events; and one
event per append (${Math.min(2_000, total / 10)} events), where the transaction's fixed cost shows:

${table(
  ['database', `store x${batch}`, `raw x${batch}`, 'ratio (goal >= 0.7)', 'store x1', 'raw x1', 'ratio x1'],
  results.map((r) => [
    r.db,
    k(r.appendRate),
    k(r.rawRate),
    `${(r.appendRate / r.rawRate).toFixed(2)} (${verdict(r.appendRate / r.rawRate >= appendGoal)})`,
    k(r.singleRate),
    k(r.rawSingleRate),
    (r.singleRate / r.rawSingleRate).toFixed(2),
  ]),
)}

Projection rebuild from zero (reset, then replay in ${projectionRunnerDefaults.rebuildBatchSize.toLocaleString('en-US')}-event batches, each batch's rows and
checkpoint in one transaction; the read model is checked against the log afterwards). The replay
reads each page as JSON arrays of up to 100 events (see docs/event-store.md), so it can outrun a
plain nine-column SELECT of the log. Events per CPU-second of the bench process count all of the
work on PGlite (in process), only the client's share on PostgreSQL:

${table(
  [
    'database',
    'events replayed',
    'events/s',
    'goal 50,000/s',
    'events per CPU-second',
    'plain SELECT of the log',
    'rebuild / SELECT',
  ],
  results.map((r) => [
    r.db,
    r.rebuilt.toLocaleString('en-US'),
    k(r.rebuildRate),
    `${(r.rebuildRate / rebuildGoal).toFixed(2)}x (${verdict(r.rebuildRate >= rebuildGoal)})`,
    Math.round(r.rebuildCpuRate).toLocaleString('en-US'),
    k(r.readRate),
    (r.rebuildRate / r.readRate).toFixed(2),
  ]),
)}
`;
await writeBenchSection('event-store', md);
console.log(md);
