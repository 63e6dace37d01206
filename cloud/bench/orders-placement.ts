/**
 * Order placement: `OrderService.place` (the order's first event, its outbox entry, its checkout
 * row and its idempotency record in one transaction) at 16 concurrent callers, with the checkout
 * runner reserving and confirming in the same process meanwhile, as the cloud runs it. Then how
 * long until every checkout has finished. PGlite (embedded default) and PostgreSQL (skipped when
 * not reachable). Goal from issue #14: 1,000 orders/s with p99 <= 50 ms; the ratio is printed.
 */
import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { type Kind, openCheckoutWorld } from '../test/orders-fixture.js';

const orders = Number(process.env.BENCH_ORDERS ?? 2_000);
const concurrency = 16;
// Group commit grows its groups with the callers waiting, so placing alone runs at several counts.
const placingCallers = (process.env.BENCH_CALLERS ?? '16,32,64').split(',').map(Number);
const goalPerSecond = 1_000;
const goalP99 = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function run(kind: Kind, withCheckout: boolean, callers = concurrency) {
  // Without the checkout: what placing alone costs (checkouts then run after the timed part).
  const world = await openCheckoutWorld({ kind }, {}, withCheckout);
  try {
    for (let i = 0; i < 20; i++) await world.stock(`SKU-${i}`, 1_000_000);
    // Warm-up: connections, prepared plans, the runner.
    for (let i = 0; i < 50; i++) {
      await world.service.place({
        siteId: world.site,
        customerId: 'warm',
        caller: 'user:warm',
        by: 'user:warm',
        lines: [{ sku: 'SKU-0', quantity: 1 }],
      });
    }
    await world.runner.drained();
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        for (;;) {
          const i = next++;
          if (i >= orders) return;
          const t0 = performance.now();
          await world.service.place({
            siteId: world.site,
            customerId: `c${i % 500}`,
            caller: `user:c${i % 500}`,
            by: `user:c${i % 500}`,
            idempotencyKey: `bench-${i}`,
            lines: [
              { sku: `SKU-${i % 20}`, quantity: 1 + (i % 3) },
              { sku: `SKU-${(i + 7) % 20}`, quantity: 1 },
            ],
          });
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const placeSeconds = (performance.now() - started) / 1000;
    if (withCheckout) {
      await world.runner.drained();
      await world.runner.resumeDue();
      await world.runner.drained();
    }
    const allSeconds = (performance.now() - started) / 1000;
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM checkout_sagas
      WHERE status = 'done'`.execute(world.database.kysely);
    latencies.sort((a, b) => a - b);
    return {
      kind,
      mode: `${withCheckout ? 'with checkout running' : 'placing only'}, ${callers} callers`,
      withCheckout,
      perSecond: orders / placeSeconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      checkoutsPerSecond: (rows[0]?.n ?? 0) / allSeconds,
      done: rows[0]?.n ?? 0,
    };
  } finally {
    await world.close();
  }
}

async function main() {
  const kinds: Kind[] = ['pglite'];
  if (await serverAvailable('postgres').catch(() => false)) kinds.push('postgres');
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (const kind of kinds)
    for (const [withCheckout, callers] of [
      [true, concurrency] as const,
      ...placingCallers.map((n) => [false, n] as const),
    ]) {
      const r = await run(kind, withCheckout, callers);
      results.push(r);
      console.log(
        `${kind} (${r.mode}): ${Math.round(r.perSecond)} orders/s (${(r.perSecond / goalPerSecond).toFixed(2)}x of ${goalPerSecond}), p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${(goalP99 / r.p99).toFixed(2)}x of the ${goalP99} ms budget), ${Math.round(r.checkoutsPerSecond)} checkouts/s end to end`,
      );
    }
  const rows = results.map((r) => [
    r.kind,
    r.mode,
    Math.round(r.perSecond),
    `${(r.perSecond / goalPerSecond).toFixed(2)}x`,
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.p99 <= goalP99 && r.perSecond >= goalPerSecond ? 'met' : 'not met',
    r.withCheckout ? Math.round(r.checkoutsPerSecond) : '-',
  ]);
  const verdicts = kinds.map((kind) => {
    const met = results.filter((r) => r.kind === kind && r.p99 <= goalP99 && r.perSecond >= goalPerSecond);
    return met.length > 0
      ? `${kind}: goal met placing alone with ${met.map((r) => r.mode.replace(/^.*, /, '')).join(', ')}.`
      : `${kind}: goal not met in any row.`;
  });
  await writeBenchSection(
    'orders',
    `## Order placement (cloud/bench/orders-placement.ts)

${orders} orders of two lines, each with an idempotency key, from ${concurrency} callers at once with the
checkout runner reserving and confirming in the same process meanwhile (as the cloud runs), then
placing alone from ${placingCallers.join(', ')} callers (the checkouts run after the timed part). Placements arriving together are written in one transaction (group commit,
docs/orders.md). Goal: 1,000 orders/s with p99 <= 50 ms.
${machineLine()}, load average ${loadavg()[0]?.toFixed(1)} (2 cores shared with other work).

${table(['database', 'mode', 'orders/s', 'vs goal', 'p50 ms', 'p99 ms', 'goal', 'checkouts/s (place to confirmed)'], rows)}

${verdicts.join('\n')}`,
  );
}

await main();
