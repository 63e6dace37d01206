import { join } from 'node:path';
import { openDatabase } from '@bitv/shared/db';
import { createEventStore } from '@bitv/shared/event-store';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { tempDir } from '@bitv/shared/testing';
import { FaultProxy } from '@bitv/shared/testing/fault-proxy';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attempts } from '../../cloud/src/payments/attempts.js';
import { PaymentFlags } from '../../cloud/src/payments/flags.js';
import { RulesFraudCheck } from '../../cloud/src/payments/fraud.js';
import { timeoutGuard } from '../../cloud/src/payments/guard.js';
import { migratePayments } from '../../cloud/src/payments/migrations.js';
import { createSoapBankProvider } from '../../cloud/src/payments/providers/soap/index.js';
import { PaymentService } from '../../cloud/src/payments/service.js';
import { type RunningBank, startBank } from '../src/bank/index.js';
import { heal, pause, proxyLine, until } from './chaos-harness.js';

async function gauge(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const { values } = (await registry.getSingleMetric(name)?.get()) ?? { values: [] };
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

/**
 * Chaos between the payments service and the legacy SOAP bank (the real one, infra/src/bank,
 * with its SQLite ledger) through the fault proxy: latency around the adapter's timeout (answers
 * lost after the bank committed), connections reset after the request went out, and a black hole
 * that opens the bank's breaker. Every payment is authorized and then captured or voided,
 * retrying what failed once the bank is back. Afterwards the bank's own ledger shows 0 double
 * charges (one authorization per payment, at most one capture, captured <= authorized), every
 * payment ends as the service says, and the breaker opened and closed again.
 */
describe('chaos: payments -> SOAP bank through the fault proxy', () => {
  let bank: RunningBank;
  let proxy: FaultProxy;
  let service: PaymentService;
  let flags: PaymentFlags;
  let ledgerPath: string;
  const registry = createRegistry();
  const closers: Array<() => Promise<void>> = [];
  const breaker = { dependency: 'soap-bank' };
  /** The breaker gauge sampled every 50 ms: the test sees it open even between calls. */
  const seen = new Set<number>();
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    const dir = await tempDir('bv-chaos-bank');
    closers.push(dir.remove);
    ledgerPath = join(dir.path, 'bank.sqlite');
    bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: ledgerPath,
      callbackUrl: undefined,
      secret: 's',
      seed: 7,
    });
    const target = new URL(bank.url);
    proxy = await FaultProxy.start({ upstream: `${target.hostname}:${target.port}`, name: 'soap-bank' });
    const provider = await createSoapBankProvider({
      url: `http://${proxy.address}${target.pathname}`,
      secret: 's',
      registry,
      timeoutMs: 700,
      resilience: {
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
        bulkhead: { limit: 8, queue: 32 },
      },
    });
    const database = await openDatabase();
    closers.push(() => database.close());
    await migratePayments(database);
    flags = new PaymentFlags(database, ['soap-bank'], {
      defaultProvider: 'soap-bank',
      merchants: {},
      percentage: null,
    });
    await flags.start();
    service = new PaymentService({
      store: await createEventStore(database),
      attempts: new Attempts(database),
      providers: new Map([['soap-bank', { provider, guard: timeoutGuard('soap-bank', 2_000) }]]),
      router: flags,
      fraud: new RulesFraudCheck(database, {}),
      metrics: registry,
      retry: { retries: 2, initialDelayMs: 20, maxDelayMs: 100 },
    });
    sampler = setInterval(() => {
      void gauge(registry, 'bv_dependency_breaker_state', breaker).then((v) => seen.add(v));
    }, 50);
  });
  afterAll(async () => {
    clearInterval(sampler);
    await flags?.close();
    await proxy?.close();
    await bank?.close();
    for (const close of closers.reverse()) await close();
  });

  /** Authorizes, then captures (even n) or voids (odd n); a failure is tried again later. */
  const payments = new Map<string, { n: number; done: boolean; failures: number }>();
  async function pay(n: number): Promise<void> {
    const paymentId = `chaos-pay-${n}`;
    const entry = payments.get(paymentId) ?? { n, done: false, failures: 0 };
    payments.set(paymentId, entry);
    try {
      const input = {
        paymentId,
        orderId: `order-${n}`,
        merchantId: 'site-1',
        customerId: `cust-${n}`,
        amountMinor: 1_000 + n * 100,
        currency: 'EUR',
      };
      let state = await service.authorize(input);
      if (state.status === 'authorized')
        state = n % 2 === 0 ? await service.capture(paymentId) : await service.void(paymentId);
      entry.done = state.status === 'captured' || state.status === 'voided' || state.status === 'failed';
    } catch {
      entry.failures++;
    }
  }

  it('0 double charges through latency, resets and a black hole; the bank breaker opens and closes again', async () => {
    // calm
    for (let n = 0; n < 6; n++) await pay(n);
    // latency around the 700 ms timeout: some answers arrive after the caller gave up
    proxy.addToxic({ type: 'latency', attributes: { latency: 600, jitter: 300 } });
    await Promise.all(Array.from({ length: 6 }, (_, i) => pay(6 + i)));
    proxy.clearToxics();
    // resets: the request reaches the bank, the answer is lost to an RST (half the connections)
    proxy.addToxic({ type: 'reset_peer', toxicity: 0.5, attributes: { timeout: 30 } });
    for (let n = 12; n < 18; n++) await pay(n);
    proxy.clearToxics();
    // black hole: the breaker opens and payments are refused at once
    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    for (let n = 18; n < 24; n++) await pay(n);
    const openedDuringHole = seen.has(2);
    await heal(proxy, 'timeout_upstream');
    // back: everything unfinished is tried again until done (bounded)
    expect(
      await until(
        async () => {
          for (const [, p] of payments) if (!p.done) await pay(p.n);
          return [...payments.values()].every((p) => p.done);
        },
        60,
        300,
      ),
    ).toBe(true);
    await pause(100);

    // the bank's own books
    const ledger = new Database(ledgerPath, { readonly: true });
    const auths = ledger
      .prepare(
        'SELECT payment_id, count(*) AS n, sum(captured) AS captured, sum(authorized) AS authorized, sum(voided) AS voided FROM authorizations GROUP BY payment_id',
      )
      .all() as Array<{
      payment_id: string;
      n: number;
      captured: number;
      authorized: number;
      voided: number;
    }>;
    const captures = ledger
      .prepare(
        "SELECT payment_id, count(*) AS n FROM settlements WHERE operation = 'capture' GROUP BY payment_id",
      )
      .all() as Array<{ payment_id: string; n: number }>;
    ledger.close();
    const doubleAuth = auths.filter((a) => a.n > 1);
    const overCaptured = auths.filter((a) => a.captured > a.authorized);
    const doubleCapture = captures.filter((c) => c.n > 1);
    let mismatched = 0;
    for (const [paymentId, p] of payments) {
      const state = await service.current(paymentId);
      const row = auths.find((a) => a.payment_id === paymentId);
      if (state.status === 'captured' && !(row && row.captured === row.authorized)) mismatched++;
      if (state.status === 'voided' && !row?.voided) mismatched++;
      if (p.n % 2 === 0 && state.status !== 'captured' && state.status !== 'failed') mismatched++;
    }
    const failures = [...payments.values()].reduce((s, p) => s + p.failures, 0);
    const refused = await gauge(registry, 'bv_dependency_calls_total', {
      ...breaker,
      outcome: 'rejected_open',
    });
    const timeouts = await gauge(registry, 'bv_dependency_timeouts_total', breaker);
    const finalState = await gauge(registry, 'bv_dependency_breaker_state', breaker);
    console.log(
      [
        `bank chaos: ${payments.size} payments, ${auths.length} with an authorization in the bank's ledger, ${failures} service calls failed and were tried again`,
        `  double authorizations ${doubleAuth.length}, double captures ${doubleCapture.length}, over-captured ${overCaptured.length}, service/bank mismatches ${mismatched}`,
        `  soap-bank breaker: seen open ${seen.has(2)}, ${refused} calls refused while open, ${timeouts} timeouts, now ${finalState === 0 ? 'closed' : finalState}`,
        `  ${proxyLine(proxy)}`,
      ].join('\n'),
    );
    expect(doubleAuth).toEqual([]);
    expect(doubleCapture).toEqual([]);
    expect(overCaptured).toEqual([]);
    expect(mismatched).toBe(0);
    expect(openedDuringHole).toBe(true);
    expect(refused).toBeGreaterThan(0);
    expect(finalState).toBe(0);
  }, 180_000);
});
