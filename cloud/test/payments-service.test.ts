import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventStore, type EventStore } from '@bitv/shared/event-store';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Attempts } from '../src/payments/attempts.js';
import { PaymentFlags } from '../src/payments/flags.js';
import { RulesFraudCheck } from '../src/payments/fraud.js';
import { timeoutGuard } from '../src/payments/guard.js';
import { migratePayments } from '../src/payments/migrations.js';
import { PaymentService } from '../src/payments/service.js';
import { ProviderDouble } from './payments-double.js';

const kinds: ('pglite' | 'postgres')[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

interface World {
  database: Database;
  store: EventStore;
  bank: ProviderDouble;
  rest: ProviderDouble;
  flags: PaymentFlags;
  service: PaymentService;
  close(): Promise<void>;
}

async function openWorld(
  kind: 'pglite' | 'postgres',
  fraud: ConstructorParameters<typeof RulesFraudCheck>[1] = {},
): Promise<World> {
  const schema = uniqueName('payments');
  const database =
    kind === 'pglite'
      ? await openDatabase()
      : await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
  await migratePayments(database);
  const store = await createEventStore(database);
  const bank = new ProviderDouble('soap-bank');
  const rest = new ProviderDouble('rest-pay');
  const flags = new PaymentFlags(database, ['soap-bank', 'rest-pay'], {
    defaultProvider: 'soap-bank',
    merchants: {},
    percentage: null,
  });
  await flags.start();
  const service = new PaymentService({
    store,
    attempts: new Attempts(database),
    providers: new Map([
      ['soap-bank', { provider: bank, guard: timeoutGuard('soap-bank', 2_000) }],
      ['rest-pay', { provider: rest, guard: timeoutGuard('rest-pay', 2_000) }],
    ]),
    router: flags,
    fraud: new RulesFraudCheck(database, fraud),
    metrics: createRegistry(),
    retry: { initialDelayMs: 1, maxDelayMs: 5 },
  });
  return {
    database,
    store,
    bank,
    rest,
    flags,
    service,
    async close() {
      await flags.close();
      if (kind === 'postgres') await dropSchema(database, schema);
      await database.close();
    },
  };
}

const input = (n: number, amountMinor = 1_000) => ({
  paymentId: `pay-${n}`,
  orderId: `order-${n}`,
  merchantId: 'site-1',
  customerId: `c${n}`,
  amountMinor,
  currency: 'EUR',
});

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

for (const kind of kinds) {
  describe(`payment service on ${kind}`, () => {
    it('authorizes, captures part and the rest, refunds; every event is queued on bv.payments', async () => {
      world = await openWorld(kind);
      const { service } = world;
      expect(await service.authorize(input(1))).toMatchObject({
        status: 'authorized',
        authorizedMinor: 1_000,
        provider: 'soap-bank',
      });
      await service.capture('pay-1', { key: 'pay-1:capture:1', amountMinor: 400 });
      expect(await service.capture('pay-1', { key: 'pay-1:capture:2' })).toMatchObject({
        status: 'captured',
        capturedMinor: 1_000,
      });
      expect(await service.refund('pay-1')).toMatchObject({ status: 'refunded', refundedMinor: 1_000 });
      const { rows } = await sql<{ type: string }>`SELECT event->>'type' AS type FROM bv_es_outbox
        WHERE topic = 'bv.payments' ORDER BY id`.execute(world.database.kysely);
      expect(rows.map((r) => r.type)).toEqual([
        'bv.payment.authorized.v1',
        'bv.payment.captured.v1',
        'bv.payment.captured.v1',
        'bv.payment.refunded.v1',
      ]);
    });

    it('a timeout after the provider committed, at every step: status is asked, nothing is done twice', async () => {
      world = await openWorld(kind);
      const { service, bank } = world;
      for (const op of ['authorize', 'capture', 'void', 'refund'] as const) bank.timeoutAfterCommit.add(op);
      await service.authorize(input(2));
      await service.capture('pay-2', { amountMinor: 600 });
      await service.refund('pay-2', { amountMinor: 100 });
      await service.authorize(input(3));
      expect(await service.void('pay-3')).toMatchObject({ status: 'voided' });
      // Repeating every call (a redelivered event, a resumed saga) changes nothing either.
      await service.authorize(input(2));
      await service.capture('pay-2', { amountMinor: 600 });
      await service.refund('pay-2', { amountMinor: 100 });
      await service.void('pay-3');
      const performed = bank.performed.map((p) => `${p.operation}:${p.paymentId}:${p.amountMinor}`);
      expect(performed).toEqual([
        'authorize:pay-2:1000',
        'capture:pay-2:600',
        'refund:pay-2:100',
        'authorize:pay-3:1000',
        'void:pay-3:1000',
      ]);
      expect(bank.statusCalls).toBe(4);
      expect(await service.current('pay-2')).toMatchObject({
        status: 'captured',
        capturedMinor: 600,
        refundedMinor: 100,
      });
    });

    it('an attempt stored before a crash (call made, answer never recorded) is resolved by status, not called again', async () => {
      world = await openWorld(kind);
      const { service, bank } = world;
      // The process "died" after the call: the attempt row is pending with one call counted.
      bank.timeoutAfterCommit.add('authorize');
      const noRetry = new PaymentService({
        store: world.store,
        attempts: service.attempts,
        providers: new Map([['soap-bank', { provider: bank, guard: timeoutGuard('soap-bank', 2_000) }]]),
        router: world.flags,
        fraud: new RulesFraudCheck(world.database),
        metrics: createRegistry(),
        retry: { retries: 0 },
      });
      await expect(noRetry.authorize(input(4))).rejects.toThrow(/timed out/);
      expect(await service.current('pay-4')).toEqual({ status: 'none' });
      expect(await service.resolveStale(0)).toBe(1);
      expect(await service.current('pay-4')).toMatchObject({ status: 'authorized' });
      expect(bank.performed.filter((p) => p.paymentId === 'pay-4')).toHaveLength(1);
      expect(bank.calls).toBe(1);
    });

    it('a provider decline fails the payment with its code; the fraud rules decline before any call', async () => {
      world = await openWorld(kind, { maxAmountMinor: 5_000, blockedCustomers: ['c9'], velocityLimit: 2 });
      const { service, bank } = world;
      bank.declineCustomers.add('c5');
      expect(await service.authorize(input(5))).toMatchObject({
        status: 'failed',
        failure: { code: 'card-declined' },
      });
      expect(await service.authorize(input(6, 9_000))).toMatchObject({
        status: 'failed',
        failure: { code: 'fraud-suspected', reason: expect.stringMatching(/^amount-limit/) },
      });
      expect(await service.authorize({ ...input(7), customerId: 'c9' })).toMatchObject({
        failure: { reason: expect.stringMatching(/^blocked-customer/) },
      });
      await service.authorize({ ...input(8), customerId: 'busy' });
      await service.authorize({ ...input(10), customerId: 'busy' });
      expect(await service.authorize({ ...input(11), customerId: 'busy' })).toMatchObject({
        failure: { reason: expect.stringMatching(/^velocity/) },
      });
      expect(bank.performed.map((p) => p.paymentId)).toEqual(['pay-8', 'pay-10']);
    });

    it('the toggle routes new payments per merchant and by percentage; follow-ups stay on the authorizing provider', async () => {
      world = await openWorld(kind);
      const { service, flags, bank, rest } = world;
      await service.authorize(input(20));
      await flags.set({ defaultProvider: 'soap-bank', merchants: { 'site-1': 'rest-pay' } }, 'user:admin');
      await service.authorize(input(21));
      await service.capture('pay-20');
      await service.capture('pay-21');
      expect(bank.performed.map((p) => `${p.operation}:${p.paymentId}`)).toEqual([
        'authorize:pay-20',
        'capture:pay-20',
      ]);
      expect(rest.performed.map((p) => `${p.operation}:${p.paymentId}`)).toEqual([
        'authorize:pay-21',
        'capture:pay-21',
      ]);
      await flags.set(
        { defaultProvider: 'soap-bank', percentage: { provider: 'rest-pay', percent: 50 } },
        'user:admin',
      );
      const sides = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          flags.providerFor({ paymentId: `p${i}`, merchantId: 'site-2', customerId: 'c' }),
        ),
      );
      const restShare = sides.filter((s) => s === 'rest-pay').length;
      expect(restShare).toBeGreaterThan(70);
      expect(restShare).toBeLessThan(130);
      // Stable: the same payment id lands on the same side.
      expect(await flags.providerFor({ paymentId: 'p1', merchantId: 'site-2', customerId: 'x' })).toBe(
        sides[1],
      );
      await expect(flags.set({ defaultProvider: 'nobody' }, 'user:admin')).rejects.toThrow(
        /unknown provider nobody/,
      );
    });
  });
}
