/**
 * The crash test's child (see checkout-crash.test.ts): the whole cloud, `startCloud` with every
 * module, on the test's database (PGlite in a data folder, or a PostgreSQL schema) and the event
 * log in that database, as `bitv-cloud` builds it. The only addition is the kill: SIGKILL at the
 * first checkout step boundary named `BV_CRASH_AT` (`<step>:<phase>`, e.g. `reserve:after`).
 * Prints `cloud ready`, then `boundary <step>:<phase>` for each boundary passed (the test's census
 * of the saga), and `checkout idle` once no checkout is open (then it closes and exits 0).
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
import { startCloud } from '../src/cloud.js';

const env = z
  .object({
    BV_CRASH_KIND: z.enum(['pglite', 'postgres']),
    BV_CRASH_DATA_DIR: z.string().optional(),
    BV_CRASH_SCHEMA: z.string().optional(),
    BV_CRASH_AT: z.string().optional(),
  })
  .parse(process.env);

const logger = createLogger('cloud', { level: 'warn' });
const registry = createRegistry();
const database =
  env.BV_CRASH_KIND === 'pglite'
    ? await openDatabase(env.BV_CRASH_DATA_DIR ? { dataDir: env.BV_CRASH_DATA_DIR } : {})
    : await openDatabase({ url: postgresUrl(), schema: env.BV_CRASH_SCHEMA as string, poolSize: 6 });
const eventLog = await createEventLog({ database, registry: platformEvents(), logger, metrics: registry });
const cloud = await startCloud(
  {
    host: '127.0.0.1',
    port: 0,
    grpcPort: -1,
    orders: {
      // One checkout at a time: the first boundary of a name is the same step of one checkout.
      checkoutConcurrency: 1,
      // A killed life's leases lapse soon, and the next life looks for them often.
      checkoutLeaseMs: 300,
      resumeEveryMs: 200,
    },
    checkoutBoundary: (b) => {
      const name = `${b.step}:${b.phase}`;
      process.stdout.write(`boundary ${name}\n`);
      if (name === env.BV_CRASH_AT) {
        process.stdout.write(`crash at ${name} of ${b.orderId}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  },
  { database, eventLog, logger, registry },
);
process.stdout.write(`cloud ready ${process.pid} ${cloud.url}\n`);
for (;;) {
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM checkout_sagas WHERE status <> 'done'`.execute(database.kysely);
  if ((rows[0]?.n ?? 0) === 0) break;
  await delay(100);
}
process.stdout.write('checkout idle\n');
await cloud.close();
await eventLog.close();
await database.close();
process.exit(0);
