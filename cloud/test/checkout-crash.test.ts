import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverAvailable, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { checkoutSteps, type StepDeps } from '../src/checkout/steps.js';
import { loadOrder } from '../src/orders/stream.js';
import { type Kind, openCheckoutWorld, type WorldPlace } from './orders-fixture.js';

const kinds: Kind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');

const entry = fileURLToPath(new URL('./checkout-crash-main.ts', import.meta.url));
const cloudDir = fileURLToPath(new URL('..', import.meta.url));

/** A small seeded generator (mulberry32): the same seed kills at the same moments. */
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

function startLife(place: WorldPlace, env: Record<string, string>): Life {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: cloudDir,
    env: {
      ...process.env,
      BV_CRASH_KIND: place.kind,
      BV_LOG_LEVEL: 'warn',
      ...(place.dataDir ? { BV_CRASH_DATA_DIR: place.dataDir } : {}),
      ...(place.schema ? { BV_CRASH_SCHEMA: place.schema } : {}),
      ...env,
    },
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

for (const kind of kinds) {
  describe(`checkout crash test on ${kind}`, () => {
    it('the whole cloud SIGKILLed at every saga boundary in turn and at seeded moments: every order ends confirmed or rejected, holds equal confirmed lines, none twice', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bv-crash-'));
      dirs.push(dir);
      const place: WorldPlace =
        kind === 'pglite' ? { kind, dataDir: join(dir, 'pgdata') } : { kind, schema: uniqueName('crash') };
      const orderIds: string[] = [];
      const placeOrders = async (n: number, offset: number) => {
        const world = await openCheckoutWorld(place, {}, false);
        if (offset === 0) {
          await world.stock('A', 400);
          await world.stock('B', 100);
          await world.stock('C', 3);
        }
        for (let i = 0; i < n; i += 1) {
          const k = offset + i;
          const placed = await world.service.place({
            customerId: `c${k}`,
            caller: `user:c${k}`,
            by: `user:c${k}`,
            siteId: world.site,
            // Some lines ask for more C than exists: those orders fail at reserve, holding nothing
            // (all or nothing), and pass the failure, compensation and rejection boundaries.
            lines: [
              { sku: 'A', quantity: 1 + (k % 3) },
              { sku: 'B', quantity: 1 },
              ...(k % 4 === 3 ? [{ sku: 'C', quantity: 2 }] : []),
            ],
          });
          orderIds.push(placed.body.orderId);
        }
        await world.close({ drop: false });
      };

      const random = seeded(14);
      const kills: string[] = [];
      /** `kill`: SIGKILL once the life has passed `afterBoundaries` boundaries, `ms` later (mid-step). */
      const runLife = async (env: Record<string, string>, kill?: { afterBoundaries: number; ms: number }) => {
        const l = startLife(place, env);
        let timer: NodeJS.Timeout | undefined;
        if (kill) {
          // Counted in the work the life does, not from its start: a fast checkout finished before
          // a kill timed from "cloud ready" arrived, so the kill landed on a finished process.
          const passed = () => {
            if (!timer && (l.output().match(/^boundary /gm)?.length ?? 0) >= kill.afterBoundaries)
              timer = setTimeout(() => l.child.kill('SIGKILL'), kill.ms);
          };
          l.child.stdout?.on('data', passed);
        }
        const end = await l.ended;
        if (timer) clearTimeout(timer);
        const crash = /crash at (\S+)/.exec(l.output())?.[1];
        if (end.code !== 0 && end.signal !== 'SIGKILL') throw new Error(`cloud life failed\n${l.output()}`);
        return { crash, end, output: l.output() };
      };

      // The census: a first life with no kill passes every boundary the running saga has (its
      // steps, a failure, the compensations, the rejection). Each becomes a kill point below, so a
      // step added to the saga (a payment, say) is killed at without changing this test.
      await placeOrders(8, 0);
      const census = await runLife({});
      expect(census.end.code, census.output).toBe(0);
      const boundaries = [
        ...new Set([...census.output.matchAll(/^boundary (\S+)$/gm)].map((m) => m[1] as string)),
      ];
      const stepNames = checkoutSteps({
        store: undefined,
        stock: undefined,
        holdSeconds: 1,
      } as unknown as StepDeps).map((s) => s.name);
      for (const step of stepNames) {
        expect(boundaries, `${step} seen`).toContain(`${step}:before`);
        expect(boundaries, `${step} seen`).toContain(`${step}:after`);
      }
      expect(boundaries.some((b) => b.endsWith(':failed'))).toBe(true);
      expect(boundaries.some((b) => b.endsWith(':compensated'))).toBe(true);
      expect(boundaries).toContain('reject:done');

      // Every boundary in turn, each life with new orders (one in four is rejected).
      const landed = new Set<string>();
      for (const at of boundaries) {
        // A life may pass no such boundary (its checkouts took another path, say every one was
        // rejected): then another life with new orders, up to three.
        for (let attempt = 0; attempt < 3 && !landed.has(at); attempt += 1) {
          await placeOrders(4, orderIds.length);
          const life = await runLife({ BV_CRASH_AT: at });
          const seen = [...new Set([...life.output.matchAll(/^boundary (\S+)$/gm)].map((m) => m[1]))];
          kills.push(life.crash ?? `no kill at ${at} (${life.end.code}; passed ${seen.join(' ')})`);
          if (life.crash) landed.add(life.crash);
        }
      }
      expect([...landed].sort(), kills.join(' | ')).toEqual([...boundaries].sort());
      // Then seeded random moments, with new orders before each life: after a random number of the
      // boundaries the life passes, a random few milliseconds later, so the kill falls inside a
      // step (a transaction open, a hold made and not yet stored), not on a boundary.
      for (let k = 0; k < 4; k += 1) {
        await placeOrders(8, orderIds.length);
        const kill = { afterBoundaries: 1 + Math.floor(random() * 30), ms: Math.floor(random() * 8) };
        const life = await runLife({}, kill);
        kills.push(
          `random after ${kill.afterBoundaries} boundaries + ${kill.ms} ms: ${life.end.signal ?? 'finished'}`,
        );
        expect(life.end.signal, `random kill ${k} landed`).toBe('SIGKILL');
      }
      // The last life runs to the end.
      const last = startLife(place, {});
      const end = await last.ended;
      expect(end.code, last.output()).toBe(0);
      expect(last.output()).toContain('checkout idle');

      const world = await openCheckoutWorld(place, {}, false);
      try {
        const confirmed = new Map<string, number>();
        const statuses: string[] = [];
        for (const id of orderIds) {
          const { state } = await loadOrder(world.store, id);
          // The whole cloud runs fulfilment too: a confirmed order may have become a pick list
          // (picking; no shelf weighs here, so none is picked and its holds stay committed).
          const status = state.status === 'picking' ? 'confirmed' : state.status;
          statuses.push(status);
          if (state.status === 'confirmed' || state.status === 'picking') {
            for (const l of state.lines) confirmed.set(l.sku, (confirmed.get(l.sku) ?? 0) + l.quantity);
          }
        }
        expect(
          statuses.every((s) => s === 'confirmed' || s === 'rejected'),
          statuses.join(','),
        ).toBe(true);
        expect(statuses.filter((s) => s === 'confirmed').length).toBeGreaterThan(0);
        expect(statuses.filter((s) => s === 'rejected').length).toBeGreaterThan(0);
        for (const sku of ['A', 'B', 'C']) {
          expect((await world.held(sku)).units, `held ${sku}`).toBe(confirmed.get(sku) ?? 0);
        }
        // One reservation row per order line ever asked for: never reserved twice.
        const { rows } = await sql<{ reference: string; n: number }>`SELECT reference, count(*)::int AS n
          FROM reservations GROUP BY reference HAVING count(*) > 1`.execute(world.database.kysely);
        expect(rows).toEqual([]);
        console.log(`crash test on ${kind}: ${orderIds.length} orders, lives: ${kills.join(' | ')}`);
      } finally {
        await world.close();
      }
    }, 900_000);
  });
}
