/**
 * The payments crash test's child (see payments-crash.test.ts): the whole cloud, `startCloud`
 * with every module, on the test's PostgreSQL schema, taking payment through the real SOAP bank
 * at `BV_BANK_URL` (its faults set by the test). SIGKILLs itself at the first checkout boundary
 * named `BV_CRASH_AT`; the test kills it at seeded moments too. Prints `cloud ready <url>`, and
 * `payments idle` once nothing is left to do (no open checkout, no pending provider call, every
 * picked order captured, every cancelled one voided or refunded, every returned one refunded),
 * then closes and exits 0.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { z } from 'zod';
import type { CheckoutBoundary } from '../src/checkout/saga.js';
import { startCloud } from '../src/cloud.js';

const env = z
  .object({
    BV_CRASH_SCHEMA: z.string(),
    BV_CRASH_AT: z.string().optional(),
    BV_BANK_URL: z.string().url(),
    BV_BANK_SECRET: z.string(),
  })
  .parse(process.env);

const logger = createLogger('cloud', { level: 'warn' });
const registry = createRegistry();
const database = await openDatabase({ url: postgresUrl(), schema: env.BV_CRASH_SCHEMA, poolSize: 6 });
const eventLog = await createEventLog({ database, registry: platformEvents(), logger, metrics: registry });
const cloud = await startCloud(
  {
    host: '127.0.0.1',
    port: 0,
    grpcPort: -1,
    orders: { checkoutConcurrency: 2, checkoutLeaseMs: 500, resumeEveryMs: 200 },
    payments: {
      bankUrl: env.BV_BANK_URL,
      bankSecret: env.BV_BANK_SECRET,
      timeoutMs: 800,
      retries: 3,
      retryInitialDelayMs: 20,
      staleAttemptMs: 500,
      workEveryMs: 100,
      // Reconciled by the test (a day at a time), not by the hourly timer.
      reconcileEveryMs: 3_600_000,
      velocityLimit: 1_000,
    },
    checkoutBoundary: (b: CheckoutBoundary) => {
      const name = `${b.step}:${b.phase}`;
      if (name === env.BV_CRASH_AT) {
        process.stdout.write(`crash at ${name} of ${b.orderId}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  },
  { database, eventLog, logger, registry },
);
process.stdout.write(`cloud ready ${cloud.url}\n`);

/** What is left: open checkouts, pending calls, and orders whose money has not followed them. */
async function open(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT
      (SELECT count(*)::int FROM checkout_sagas WHERE status <> 'done')
    + (SELECT count(*)::int FROM payment_attempts WHERE state = 'pending')
    + (SELECT count(*)::int FROM order_view o JOIN payments p ON p.payment_id = o.order_id
        WHERE (o.status = 'picked' AND p.status = 'authorized')
           OR (o.status = 'cancelled' AND p.status IN ('authorized', 'captured'))
           OR (o.status = 'returned' AND p.status = 'captured')) AS n`.execute(database.kysely);
  return rows[0]?.n ?? 0;
}
// Settled twice in a row, a moment apart: an order event in the log not yet consumed shows up.
let quiet = 0;
while (quiet < 3) {
  quiet = (await open()) === 0 ? quiet + 1 : 0;
  await delay(300);
}
process.stdout.write('payments idle\n');
await cloud.close();
await eventLog.close();
await database.close();
process.exit(0);
