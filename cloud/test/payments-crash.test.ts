import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBank } from '@bitv/infra/bank';
import { createRegistry } from '@bitv/shared/metrics';
import { serverAvailable, uniqueName } from '@bitv/shared/testing';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrder } from '../src/orders/stream.js';
import { createSoapBankProvider } from '../src/payments/providers/soap/index.js';
import { Reconciliation } from '../src/payments/reconciliation.js';
import { openCheckoutWorld, type WorldPlace } from './orders-fixture.js';

const entry = fileURLToPath(new URL('./payments-crash-main.ts', import.meta.url));
const cloudDir = fileURLToPath(new URL('..', import.meta.url));
const secret = 'crash-bank-secret';

/** mulberry32: the same seed kills at the same moments and picks the same orders' fates. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Life {
  child: ChildProcess;
  output: () => string;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLife(env: Record<string, string>): Life {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: cloudDir,
    env: { ...process.env, BV_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const ended = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => output, ended };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const postgres = await serverAvailable('postgres');

describe.skipIf(!postgres)('payments crash test (whole cloud on PostgreSQL, the real SOAP bank)', () => {
  it('timeouts after the bank commits at every payment step, the cloud SIGKILLed at seeded moments: every order’s money is right and reconciliation finds nothing unexplained; a disagreeing report is caught', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bv-pay-crash-'));
    dirs.push(dir);
    const ledgerPath = join(dir, 'bank.sqlite');
    const bankMetrics = createRegistry();
    // The bank outlives every cloud life; a third of its calls commit and then drop the connection.
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: ledgerPath,
      callbackUrl: undefined,
      secret,
      seed: 15,
      faults: { timeoutAfterCommitRate: 0.3, afterCommit: 'close' },
      registry: bankMetrics,
    });
    const place: WorldPlace = { kind: 'postgres', schema: uniqueName('paycrash') };
    const random = seeded(15);
    const lifeEnv = {
      BV_CRASH_SCHEMA: place.schema as string,
      BV_BANK_URL: bank.url,
      BV_BANK_SECRET: secret,
    };
    const kills: string[] = [];
    const runLife = async (extra: Record<string, string>, killAfterReadyMs?: number) => {
      const l = startLife({ ...lifeEnv, ...extra });
      let timer: NodeJS.Timeout | undefined;
      l.child.stdout?.on('data', () => {
        const url = /cloud ready (\S+)/.exec(l.output())?.[1];
        if (url && !timer) {
          bank.setCallbackUrl(`${url}/api/v1/payments/notifications/soap-bank`);
          if (killAfterReadyMs !== undefined)
            timer = setTimeout(() => l.child.kill('SIGKILL'), killAfterReadyMs);
        }
      });
      const end = await l.ended;
      if (timer) clearTimeout(timer);
      if (end.code !== 0 && end.signal !== 'SIGKILL') throw new Error(`cloud life failed\n${l.output()}`);
      return { crash: /crash at (\S+)/.exec(l.output())?.[1], end, output: l.output() };
    };

    // A first life migrates every module's tables; then products with prices (1051: the bank's
    // "insufficient funds" amount) and stock.
    const first = await runLife({});
    expect(first.end.code, first.output).toBe(0);
    const world = await openCheckoutWorld(place, {}, false);
    const orders: { id: string; fate: 'pick' | 'cancel' | 'return'; declined: boolean }[] = [];
    try {
      await world.stock('A', 1_000);
      await world.stock('B', 1_000);
      await world.stock('D', 1_000);
      await sql`UPDATE products SET status = 'active', currency = 'EUR',
          price_minor = CASE sku WHEN 'A' THEN 1250 WHEN 'B' THEN 399 ELSE 1051 END`.execute(
        world.database.kysely,
      );

      const placeOrders = async (n: number) => {
        for (let i = 0; i < n; i += 1) {
          const k = orders.length;
          const declined = k % 7 === 6;
          const placed = await world.service.place({
            customerId: `c${k}`,
            caller: `user:c${k}`,
            by: `user:c${k}`,
            siteId: world.site,
            lines: declined
              ? [{ sku: 'D', quantity: 1 }]
              : [
                  { sku: 'A', quantity: 1 + (k % 3) },
                  { sku: 'B', quantity: 1 },
                ],
          });
          const r = random();
          orders.push({
            id: placed.body.orderId,
            fate: r < 0.5 ? 'pick' : r < 0.75 ? 'cancel' : 'return',
            declined,
          });
        }
      };
      /** Moves every confirmed order towards its fate (the cloud's consumers move its money). */
      const advance = async () => {
        for (const o of orders) {
          const { state } = await loadOrder(world.store, o.id);
          const at = new Date().toISOString();
          const go = async (command: Parameters<typeof world.service.apply>[1]) => {
            await world.service.apply(o.id, command).catch(() => undefined);
          };
          if (state.status === 'confirmed' && o.fate === 'cancel') {
            await world.service.cancel(o.id, 'user:staff', 'staff', 'out of stock after all');
          } else if (state.status === 'confirmed' || state.status === 'picking') {
            if (o.fate === 'cancel') {
              await world.service.cancel(o.id, 'user:staff', 'staff', 'customer called');
              continue;
            }
            if (state.status === 'confirmed') await go({ kind: 'startPicking', by: 'pick:test', at });
            await go({ kind: 'markPicked', by: 'pick:test', at });
          } else if (state.status === 'picked' && o.fate === 'return') {
            await go({ kind: 'return', by: 'user:staff', reason: 'damaged', at });
          }
        }
      };

      // Kills at the payment step's boundaries, then at seeded moments while money moves.
      for (const at of [
        'authorize-payment:before',
        'authorize-payment:after',
        'authorize-payment:failed',
        'authorize-payment:compensated',
      ]) {
        await placeOrders(4);
        const life = await runLife({ BV_CRASH_AT: at });
        kills.push(life.crash ? `at ${life.crash}` : `no kill at ${at}: ${life.end.code}`);
      }
      for (let k = 0; k < 6; k += 1) {
        if (k % 2 === 0) await placeOrders(3);
        await advance();
        const ms = 300 + Math.floor(random() * 2_500);
        const life = await runLife({}, ms);
        kills.push(`random ${ms}ms: ${life.end.signal ?? 'finished'}`);
      }
      // Calm lives until every order has reached its fate and its money followed.
      for (let k = 0; k < 4; k += 1) {
        await advance();
        const life = await runLife({});
        expect(life.end.code, life.output).toBe(0);
      }

      // The bank's own ledger: authorizations per payment, what each captured, voided, refunded.
      const ledger = new Database(ledgerPath, { readonly: true });
      const auths = ledger
        .prepare(
          'SELECT payment_id, count(*) AS n, sum(authorized) AS authorized, sum(captured) AS captured, sum(refunded) AS refunded, sum(voided) AS voided FROM authorizations GROUP BY payment_id',
        )
        .all() as {
        payment_id: string;
        n: number;
        authorized: number;
        captured: number;
        refunded: number;
        voided: number;
      }[];
      ledger.close();
      const byPayment = new Map(auths.map((a) => [a.payment_id, a]));
      const counts = {
        orders: orders.length,
        picked: 0,
        cancelled: 0,
        returned: 0,
        declined: 0,
        rejectedOther: 0,
      };
      for (const o of orders) {
        const { state } = await loadOrder(world.store, o.id);
        const bankSide = byPayment.get(o.id);
        if (state.status === 'rejected') {
          // Declined by the bank (1051): nothing held, nothing captured.
          expect(o.declined, `${o.id} rejected: ${JSON.stringify(state.rejection)}`).toBe(true);
          expect(bankSide?.captured ?? 0).toBe(0);
          counts.declined += 1;
          continue;
        }
        expect(bankSide, `bank has ${o.id}`).toBeDefined();
        expect(bankSide?.n, `${o.id} authorized once`).toBe(1);
        const { rows } = await sql<{
          status: string;
          authorized_minor: string;
          captured_minor: string;
          refunded_minor: string;
        }>`
          SELECT status, authorized_minor, captured_minor, refunded_minor FROM payments WHERE payment_id = ${o.id}`.execute(
          world.database.kysely,
        );
        const ours = rows[0];
        expect(ours, `payment of ${o.id}`).toBeDefined();
        expect(Number(ours?.authorized_minor)).toBe(bankSide?.authorized);
        expect(Number(ours?.captured_minor), `${o.id} captured as the bank says`).toBe(bankSide?.captured);
        expect(Number(ours?.refunded_minor), `${o.id} refunded as the bank says`).toBe(bankSide?.refunded);
        if (state.status === 'cancelled') {
          // Cancelled before the pick: voided, never captured; after it (staff): refunded in full.
          if (bankSide?.captured === 0) expect(bankSide.voided, `${o.id} voided`).toBe(1);
          else expect(bankSide?.refunded).toBe(bankSide?.captured);
          counts.cancelled += 1;
        } else if (state.status === 'picked') {
          expect(bankSide?.captured, `${o.id} captured once, in full`).toBe(bankSide?.authorized);
          expect(bankSide?.voided).toBe(0);
          counts.picked += 1;
        } else if (state.status === 'returned') {
          expect(bankSide?.captured).toBe(bankSide?.authorized);
          expect(bankSide?.refunded, `${o.id} refunded once, in full`).toBe(bankSide?.captured);
          counts.returned += 1;
        } else counts.rejectedOther += 1;
      }
      expect(counts.rejectedOther).toBe(0);
      expect(counts.picked + counts.returned).toBeGreaterThan(0);
      expect(counts.declined).toBeGreaterThan(0);

      // Reconciliation of today against the bank's report: nothing unexplained...
      const provider = await createSoapBankProvider({ url: bank.url, secret, registry: createRegistry() });
      const reconciliation = new Reconciliation(
        world.database,
        (await import('@bitv/shared/log')).silentLogger,
        createRegistry(),
      );
      const today = new Date().toISOString().slice(0, 10);
      const [clean] = await reconciliation.run(today, [provider]);
      expect(clean?.findings, JSON.stringify(clean?.findings)).toEqual([]);
      expect(clean?.matched).toBeGreaterThan(0);
      // ...and a report that disagrees with the day (one amount altered) is caught.
      bank.faults.update({ settlementDrift: 'alter', timeoutAfterCommitRate: 0 });
      const [drifted] = await reconciliation.run(today, [provider]);
      expect(drifted?.findings.map((f) => f.kind)).toEqual(['amount']);
      bank.faults.update({ settlementDrift: 'drop' });
      const [dropped] = await reconciliation.run(today, [provider]);
      expect(dropped?.findings.map((f) => f.kind)).toEqual(['missing']);
      await provider.close();
      const calledAgain = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM payment_attempts WHERE calls > 1`.execute(world.database.kysely);
      const injected =
        (await bankMetrics.getSingleMetric('bv_bank_faults_injected_total')?.get())?.values ?? [];
      console.log(
        `payments crash test: ${JSON.stringify(counts)}; bank faults injected: ${injected.map((v) => `${v.labels.kind}=${v.value}`).join(', ')}; attempts the bank did not know after a failure (called again): ${calledAgain.rows[0]?.n}; clean reconciliation matched ${clean?.matched} of ${clean?.lines} report lines; lives: ${kills.join(' | ')}`,
      );
    } finally {
      await world.close();
      await bank.close();
    }
  }, 1_200_000);
});
