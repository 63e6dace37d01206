/**
 * The crash test's checkout process (see checkout-crash.test.ts): the orders machinery the cloud
 * runs (event store, inventory's reservations, the checkout runner) on the test's database, driving
 * every unfinished checkout to its end. The kill is this entry file's own hook: SIGKILL at the
 * `BV_CRASH_AT_BOUNDARY`-th step boundary of this life, or right after the `BV_CRASH_AFTER_HOLD`-th
 * hold is made (before the checkout has stored it). Prints `checkout idle` once nothing is open.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { z } from 'zod';
import { openCheckoutWorld } from './orders-fixture.js';

const env = z
  .object({
    BV_CRASH_KIND: z.enum(['pglite', 'postgres']),
    BV_CRASH_DATA_DIR: z.string().optional(),
    BV_CRASH_SCHEMA: z.string().optional(),
    BV_CRASH_AT_BOUNDARY: z.coerce.number().int().default(-1),
    BV_CRASH_AFTER_HOLD: z.coerce.number().int().default(-1),
  })
  .parse(process.env);

const die = (where: string) => {
  process.stdout.write(`crash ${where}\n`);
  process.kill(process.pid, 'SIGKILL');
};
let boundaries = 0;
let holds = 0;
const world = await openCheckoutWorld(
  {
    kind: env.BV_CRASH_KIND,
    ...(env.BV_CRASH_DATA_DIR ? { dataDir: env.BV_CRASH_DATA_DIR } : {}),
    ...(env.BV_CRASH_SCHEMA ? { schema: env.BV_CRASH_SCHEMA } : {}),
  },
  {
    leaseMs: 300,
    // One at a time: the n-th boundary of a life is the same step of a checkout in every run.
    concurrency: 1,
    onBoundary: (b) => {
      boundaries += 1;
      if (boundaries === env.BV_CRASH_AT_BOUNDARY) die(`at ${b.step} ${b.phase} of ${b.orderId}`);
    },
  },
  false,
  (stock) => ({
    reserve: async (input) => {
      const hold = await stock.reserve(input);
      holds += 1;
      if (holds === env.BV_CRASH_AFTER_HOLD) die(`after hold ${input.reference}`);
      return hold;
    },
    release: (id) => stock.release(id),
    commit: (ids) => stock.commit(ids),
  }),
);
process.stdout.write(`checkout ready ${process.pid}\n`);
for (;;) {
  await world.runner.resumeDue();
  await world.runner.drained();
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM checkout_sagas WHERE status <> 'done'`.execute(world.database.kysely);
  if ((rows[0]?.n ?? 0) === 0) break;
  // A dead life's lease has to lapse first.
  await delay(100);
}
await world.close({ drop: false });
process.stdout.write('checkout idle\n');
