import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverAvailable, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
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
    it('SIGKILLed at every step boundary in turn, after holds and at seeded moments: every order ends confirmed or rejected, holds equal confirmed lines, none twice', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bv-crash-'));
      dirs.push(dir);
      const place: WorldPlace =
        kind === 'pglite' ? { kind, dataDir: join(dir, 'pgdata') } : { kind, schema: uniqueName('crash') };
      const orderIds: string[] = [];
      const placeOrders = async (n: number, offset: number) => {
        const world = await openCheckoutWorld(place, {}, false);
        if (offset === 0) {
          await world.stock('A', 40);
          await world.stock('B', 12);
          await world.stock('C', 3);
        }
        for (let i = 0; i < n; i += 1) {
          const k = offset + i;
          const placed = await world.service.place({
            customerId: `c${k}`,
            caller: `user:c${k}`,
            by: `user:c${k}`,
            siteId: world.site,
            // Some lines ask for more C than exists: those orders fail after holding A and B.
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
      const lives: Record<string, string>[] = [];
      // Each step boundary of a checkout in turn (12 covers both the confirm and the reject path),
      // then right after the first, second and third hold, then seeded random moments.
      for (let k = 1; k <= 12; k += 1) lives.push({ BV_CRASH_AT_BOUNDARY: String(k) });
      for (let k = 1; k <= 3; k += 1) lives.push({ BV_CRASH_AFTER_HOLD: String(k) });
      for (let k = 0; k < 4; k += 1) lives.push({ RANDOM_MS: String(Math.floor(300 + random() * 2_500)) });

      const kills: string[] = [];
      for (const [i, life] of lives.entries()) {
        // New orders every few lives, so every life has checkouts at their first steps.
        if (i % 4 === 0) await placeOrders(4, orderIds.length);
        const { RANDOM_MS, ...env } = life;
        const l = startLife(place, env);
        if (RANDOM_MS) {
          const timer = setTimeout(() => l.child.kill('SIGKILL'), Number(RANDOM_MS));
          const end = await l.ended;
          clearTimeout(timer);
          kills.push(`random ${RANDOM_MS}ms: ${end.signal ?? 'finished'}`);
        } else {
          const end = await l.ended;
          const crash = /crash (.*)/.exec(l.output())?.[1];
          kills.push(crash ?? `no kill (${end.code})`);
          if (!crash && end.code !== 0) throw new Error(`checkout life failed\n${l.output()}`);
        }
      }
      // The last life runs to the end.
      const last = startLife(place, {});
      const end = await last.ended;
      expect(end.code, last.output()).toBe(0);
      expect(last.output()).toContain('checkout idle');
      const killed = kills.filter((k) => !k.startsWith('no kill') && !k.endsWith('finished'));
      expect(killed.length).toBeGreaterThanOrEqual(12);

      const world = await openCheckoutWorld(place, {}, false);
      try {
        const confirmed = new Map<string, number>();
        const statuses: string[] = [];
        for (const id of orderIds) {
          const { state } = await loadOrder(world.store, id);
          statuses.push(state.status);
          if (state.status === 'confirmed') {
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
