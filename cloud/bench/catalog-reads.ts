/**
 * Cached vs uncached product reads: the catalog's `get` (cache-aside) against the same read
 * straight from the database (`getUncached`), in the same run on the same products.
 *
 * 500 products; 20,000 reads of SKUs drawn with a skew (a few products are read most, as in a
 * shop), one at a time and 16 at a time. Databases: PGlite (embedded default) and PostgreSQL;
 * caches: in-process, Redis, and Redis with a near copy in the process. PostgreSQL and Redis runs
 * are skipped when they are not reachable. Goal: the in-process cache at least 5x the uncached
 * read on PGlite (a hit is a map lookup and a JSON parse; the uncached read a SQL query).
 */

import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { type Cache, openCache } from '@bitv/shared/cache';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl, redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import type { Catalog } from '../src/catalog/catalog.js';
import { startCatalog } from '../test/catalog-harness.js';

const products = 500;
const reads = Number(process.env.BENCH_READS ?? 6_000);
const goal = 5;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** SKU indexes with a Zipf-like skew (s = 1), fixed by a seed so every configuration reads the same sequence. */
function skewedSequence(n: number, count: number): number[] {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cumulative.push(acc);
  }
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: count }, () => {
    const r = random();
    const i = cumulative.findIndex((c) => c >= r);
    return i < 0 ? n - 1 : i;
  });
}

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
}

async function measure(
  read: (sku: string) => Promise<unknown>,
  order: number[],
  concurrency: number,
): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= order.length) return;
        const t0 = performance.now();
        await read(`P-${String(order[i]).padStart(4, '0')}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: order.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function seed(catalog: Catalog): Promise<void> {
  for (let i = 0; i < products; i++) {
    await catalog.create(
      {
        sku: `P-${String(i).padStart(4, '0')}`,
        name: `Product ${i}`,
        description: 'A product with a description of ordinary length for a shop page.',
        category: `cat-${i % 12}`,
        status: 'active',
        price: { amountMinor: 100 + i, currency: 'EUR' },
        unitWeightG: 10 + (i % 50),
        toleranceG: 1,
        attributes: { colour: 'blue', size: i % 5 },
      },
      'bench',
    );
  }
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2));

async function main() {
  const order = skewedSequence(products, reads);
  const havePostgres = await serverAvailable('postgres').catch(() => false);
  const haveRedis = await serverAvailable('redis').catch(() => false);
  const rows: (string | number)[][] = [];
  let pgliteRatio = Number.NaN;

  for (const kind of ['pglite', 'postgres'] as const) {
    if (kind === 'postgres' && !havePostgres) continue;
    const schema = uniqueName('bench_catalog');
    const database =
      kind === 'pglite'
        ? await openDatabase()
        : await openDatabase({ url: postgresUrl(), schema, poolSize: 8 });
    const caches: { name: string; open: () => Promise<Cache> }[] = [
      { name: 'in-process', open: () => openCache({ logger: silentLogger, metrics: createRegistry() }) },
    ];
    if (haveRedis) {
      const prefix = `${uniqueName('bench')}:`;
      caches.push(
        {
          name: 'Redis',
          open: () =>
            openCache({ redisUrl: redisUrl(), logger: silentLogger, metrics: createRegistry(), prefix }),
        },
        {
          name: 'Redis + near copy',
          open: () =>
            openCache({
              redisUrl: redisUrl(),
              logger: silentLogger,
              metrics: createRegistry(),
              prefix: `${prefix}near:`,
              nearTtlMs: 60_000,
            }),
        },
      );
    }
    let seeded = false;
    for (const c of caches) {
      const cache = await c.open();
      const t = await startCatalog(kind, { database, cache });
      if (!seeded) {
        await seed(t.module.catalog);
        seeded = true;
      }
      const catalog = t.module.catalog;
      for (const concurrency of [1, 16]) {
        const uncached = await measure((sku) => catalog.getUncached(sku), order, concurrency);
        // the first pass fills the cache (the misses it takes are part of a real day too)
        const cached = await measure((sku) => catalog.get(sku), order, concurrency);
        const ratio = cached.perSecond / uncached.perSecond;
        if (kind === 'pglite' && c.name === 'in-process' && concurrency === 1) pgliteRatio = ratio;
        rows.push([
          kind,
          c.name,
          concurrency,
          fmt(uncached.perSecond),
          `${fmt(uncached.p50)} / ${fmt(uncached.p99)}`,
          fmt(cached.perSecond),
          `${fmt(cached.p50)} / ${fmt(cached.p99)}`,
          `${ratio.toFixed(1)}x`,
        ]);
        console.log(rows.at(-1)?.join('  '));
      }
      await t.close();
      await cache.close();
    }
    if (kind === 'postgres') await dropSchema(database, schema);
    await database.close();
  }

  const verdict = pgliteRatio >= goal ? 'met' : 'NOT met';
  const markdown = [
    '## Catalog: cached vs uncached product reads',
    '',
    `\`npm run bench -w cloud\` (\`cloud/bench/catalog-reads.ts\`). ${products} products, ${reads.toLocaleString('en')} reads of SKUs drawn with a Zipf-like skew, the same sequence in every row; one reader, then 16 concurrent. Uncached: the catalog's read straight from SQL; cached: the same read through the cache port (cache-aside, single flight), first misses included.`,
    '',
    table(
      [
        'database',
        'cache',
        'readers',
        'uncached reads/s',
        'uncached p50 / p99 ms',
        'cached reads/s',
        'cached p50 / p99 ms',
        'ratio',
      ],
      rows,
    ),
    '',
    `Goal: the in-process cache ≥ ${goal}x the uncached read on PGlite with one reader: ${pgliteRatio.toFixed(1)}x, ${verdict}.${haveRedis ? '' : ' Redis was not reachable: its rows are missing.'}${havePostgres ? '' : ' PostgreSQL was not reachable: its rows are missing.'}`,
    '',
    `${machineLine()}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (the machine is shared with other work; compare ratios, not absolute rates).`,
  ].join('\n');
  await writeBenchSection('cloud-catalog', markdown);
  console.log(
    `\ncached/uncached (PGlite, in-process, 1 reader): ${pgliteRatio.toFixed(1)}x (goal ${goal}x: ${verdict})`,
  );
}

await main();
