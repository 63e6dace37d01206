import { startBank } from '@bitv/infra/bank';
import { startRestPay } from '@bitv/infra/rest-pay';
import { openDatabase } from '@bitv/shared/db';
import { createEventStore } from '@bitv/shared/event-store';
import { createRegistry } from '@bitv/shared/metrics';
import { expect, it } from 'vitest';
import { Attempts } from '../src/payments/attempts.js';
import { PaymentFlags } from '../src/payments/flags.js';
import { RulesFraudCheck } from '../src/payments/fraud.js';
import { timeoutGuard } from '../src/payments/guard.js';
import { migratePayments } from '../src/payments/migrations.js';
import type { PaymentProvider } from '../src/payments/provider.js';
import { RestPayProvider } from '../src/payments/providers/rest/index.js';
import { createSoapBankProvider } from '../src/payments/providers/soap/index.js';
import { PaymentService } from '../src/payments/service.js';

it('the toggle flips between the SOAP bank and rest-pay while payments are in flight: none lost, each captured and refunded on the provider that authorized it', async () => {
  const secret = 'toggle-secret';
  // Both real services, with latency so that payments overlap the flips, and timeouts after
  // commit so that some complete through a status look-up.
  const faults = { latencyMs: 15, timeoutAfterCommitRate: 0.05, afterCommit: 'close' as const };
  const bank = await startBank({
    host: '127.0.0.1',
    port: 0,
    dbPath: undefined,
    callbackUrl: undefined,
    secret,
    seed: 3,
    faults,
  });
  const rest = await startRestPay({
    host: '127.0.0.1',
    port: 0,
    dbPath: undefined,
    callbackUrl: undefined,
    secret,
    seed: 4,
    faults,
  });
  const registry = createRegistry();
  // No breaker here: this test is about routing; the breakers have their own chaos tests.
  const resilience = { breaker: false as const, bulkhead: { limit: 100, queue: 100 } };
  const soap = await createSoapBankProvider({
    url: bank.url,
    secret,
    registry,
    timeoutMs: 2_000,
    resilience,
  });
  const restPay = new RestPayProvider({ url: rest.url, secret, registry, timeoutMs: 5_000, resilience });
  const providers: PaymentProvider[] = [soap, restPay];
  const database = await openDatabase();
  await migratePayments(database);
  const store = await createEventStore(database);
  const flags = new PaymentFlags(database, ['soap-bank', 'rest-pay'], {
    defaultProvider: 'soap-bank',
    merchants: {},
    percentage: null,
  });
  await flags.start();
  const service = new PaymentService({
    store,
    attempts: new Attempts(database),
    providers: new Map(providers.map((p) => [p.name, { provider: p, guard: timeoutGuard(p.name, 6_000) }])),
    router: flags,
    fraud: new RulesFraudCheck(database, { velocityLimit: 1_000 }),
    metrics: registry,
    retry: { retries: 10, initialDelayMs: 20, maxDelayMs: 500 },
  });
  let stop = false;
  let flipper: Promise<void> = Promise.resolve();
  try {
    const n = 30;
    let flips = 0;
    const sides = ['rest-pay', 'soap-bank'];
    flipper = (async () => {
      while (!stop) {
        await flags.set({ defaultProvider: sides[flips % 2] }, 'user:admin');
        flips += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // Each payment: authorize, capture, refund part, one after the other, all payments at once.
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const id = `tog-${i}`;
        // Staggered by flips, not by time (a slow machine must not put every payment on one side):
        // payment i starts once the flag has moved i / 3 times (bounded wait).
        for (let w = 0; w < 2_000 && flips <= Math.floor(i / 3); w += 1)
          await new Promise((r) => setTimeout(r, 5));
        const authorized = await service.authorize({
          paymentId: id,
          orderId: `o-${i}`,
          merchantId: 'site-1',
          customerId: `c${i}`,
          // The sandbox banks decline amounts ending in 05, 51, 59: these end in 0.
          amountMinor: 1_000 + i * 10,
          currency: 'EUR',
        });
        await service.capture(id);
        const refunded = await service.refund(id, { amountMinor: 100 });
        return {
          id,
          authorizedOn: authorized.status === 'none' ? 'none' : authorized.provider,
          final: refunded,
        };
      }),
    );
    stop = true;
    await flipper;
    expect(flips).toBeGreaterThan(3);
    const onSoap = results.filter((r) => r.authorizedOn === 'soap-bank').length;
    expect(onSoap).toBeGreaterThan(0);
    expect(onSoap).toBeLessThan(n);
    for (const r of results) {
      // None lost: every payment authorized, captured and partly refunded...
      expect(r.final, r.id).toMatchObject({
        status: 'captured',
        capturedMinor: r.final.status === 'none' ? 0 : r.final.authorizedMinor,
        refundedMinor: 100,
      });
      // ...every operation on the provider that authorized it, and none on the other.
      const [mine, other] = r.authorizedOn === 'soap-bank' ? [soap, restPay] : [restPay, soap];
      for (const op of ['authorize', 'capture', 'refund']) {
        expect((await mine.status(`${r.id}:${op}`)).known, `${r.id} ${op} on ${mine.name}`).toBe(true);
        expect((await other.status(`${r.id}:${op}`)).known, `${r.id} ${op} not on ${other.name}`).toBe(false);
      }
    }
    // Each provider's settlement has exactly its payments' captures and refunds.
    const today = new Date().toISOString().slice(0, 10);
    for (const p of providers) {
      const lines = await p.settlement(today);
      const mine = results
        .filter((r) => r.authorizedOn === p.name)
        .map((r) => r.id)
        .sort();
      expect([...new Set(lines.map((l) => l.paymentId))].sort(), p.name).toEqual(mine);
      expect(lines.length, p.name).toBe(mine.length * 2);
    }
    console.log(
      `toggle flip test: ${n} payments, ${flips} flips, ${onSoap} on soap-bank, ${n - onSoap} on rest-pay, none lost`,
    );
  } finally {
    stop = true;
    await flipper.catch(() => undefined);
    await flags.close();
    await soap.close();
    await restPay.close();
    await bank.close();
    await rest.close();
    await database.close();
  }
}, 300_000);
