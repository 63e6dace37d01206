import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBody, encodeBody } from './body.js';
import { CommandStore } from './commands.js';
import { type Gap, Outbox, type OutboxOptions } from './outbox.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(
  options: Partial<OutboxOptions> = {},
): Promise<{ outbox: Outbox; path: string; gaps: Gap[] }> {
  const dir = await tempDir('bv-outbox-');
  const path = join(dir.path, 'outbox.db');
  const gaps: Gap[] = [];
  const outbox = Outbox.open({
    path,
    durability: 'normal',
    policy: 'drop-oldest',
    maxRows: 1000,
    maxBytes: 10_000_000,
    maxAgeMs: 3_600_000,
    onGap: (g) => gaps.push(g),
    ...options,
  });
  cleanups.push(dir.remove, () => outbox.close());
  return { outbox, path, gaps };
}

const reading = (timeMs: number, w = 1) => ({
  timeMs,
  bins: [
    { bin: 0, weightG: w },
    { bin: 3, weightG: w * 2 },
  ],
});

describe('outbox', () => {
  it('round-trips bodies', () => {
    const v = { bins: [{ bin: 7, weightG: 12.3 }], temperatureC: -4.25 };
    expect(decodeBody(encodeBody(v))).toEqual(v);
    expect(decodeBody(encodeBody({ bins: [] }))).toEqual({ bins: [] });
  });

  it('commits a replay position with the readings, and upgrades a file without the columns', async () => {
    const { outbox, path } = await open();
    outbox.append('shelf-A', [reading(1000)], 7);
    expect(outbox.device('shelf-A')).toMatchObject({ linkSeq: 7, replay: null });
    outbox.append('shelf-A', [reading(2000)], 8, { bootId: 0xfeedf00d, deviceTimeMs: 123_400 });
    // A failed write leaves the position where it was: the same transaction.
    expect(() =>
      // 256 bins do not fit a row body: the write fails inside the transaction.
      outbox.append('shelf-A', [{ timeMs: 3000, bins: Array(256).fill({ bin: 0, weightG: 1 }) }], 9, {
        bootId: 0xfeedf00d,
        deviceTimeMs: 999_999,
      }),
    ).toThrow();
    outbox.close();
    const again = Outbox.open({
      path,
      durability: 'normal',
      policy: 'drop-oldest',
      maxRows: 10,
      maxBytes: 1e6,
      maxAgeMs: 1e9,
    });
    cleanups.push(() => again.close());
    expect(again.device('shelf-A')).toMatchObject({
      linkSeq: 8,
      replay: { bootId: 0xfeedf00d, deviceTimeMs: 123_400 },
    });
    // A file written before the replay columns existed (user_version 1) gains them on open.
    again.db.exec(
      'ALTER TABLE devices DROP COLUMN boot_id; ALTER TABLE devices DROP COLUMN stored_device_time_ms',
    );
    again.db.pragma('user_version = 1');
    again.close();
    const upgraded = Outbox.open({
      path,
      durability: 'normal',
      policy: 'drop-oldest',
      maxRows: 10,
      maxBytes: 1e6,
      maxAgeMs: 1e9,
    });
    cleanups.push(() => upgraded.close());
    expect(upgraded.device('shelf-A')).toMatchObject({ lastSeq: 2, linkSeq: 8, replay: null });
  });

  it('assigns per-device seqs that survive reopening, keeps original timestamps', async () => {
    const { outbox, path } = await open();
    expect(outbox.append('shelf-A', [reading(1000), reading(2000)])).toEqual({ firstSeq: 1, lastSeq: 2 });
    expect(outbox.append('shelf-B', [reading(1500)])).toEqual({ firstSeq: 1, lastSeq: 1 });
    outbox.close();
    const again = Outbox.open({
      path,
      durability: 'normal',
      policy: 'drop-oldest',
      maxRows: 10,
      maxBytes: 1e6,
      maxAgeMs: 1e9,
    });
    cleanups.push(() => again.close());
    expect(again.append('shelf-A', [reading(3000)])).toEqual({ firstSeq: 3, lastSeq: 3 });
    expect(again.read('shelf-A', 0, 10).map((r) => [r.seq, r.timeMs])).toEqual([
      [1, 1000],
      [2, 2000],
      [3, 3000],
    ]);
    expect(again.stats().depth).toBe(4);
  });

  it('deletes only acknowledged ranges, and seqs are never reused', async () => {
    const { outbox } = await open();
    outbox.append('shelf-A', [reading(1), reading(2), reading(3)]);
    expect(outbox.ack('shelf-A', 1, 2)).toBe(2);
    expect(outbox.ack('shelf-A', 1, 2)).toBe(0);
    expect(outbox.read('shelf-A', 0, 10).map((r) => r.seq)).toEqual([3]);
    outbox.ack('shelf-A', 3, 3);
    expect(outbox.stats()).toMatchObject({ depth: 0, bytes: 0, oldestTimeMs: null });
    expect(outbox.append('shelf-A', [reading(4)])).toEqual({ firstSeq: 4, lastSeq: 4 });
  });

  it('drops the oldest when full and says so with a gap per device', async () => {
    const { outbox, gaps } = await open({ maxRows: 5 });
    outbox.append('shelf-A', [reading(1), reading(2), reading(3)]);
    outbox.append('shelf-B', [reading(4), reading(5)]);
    outbox.append('shelf-B', [reading(6), reading(7), reading(8)]);
    expect(outbox.stats().depth).toBe(5);
    expect(gaps.map((g) => [g.device, g.kind, g.fromSeq, g.toSeq, g.count])).toEqual([
      ['shelf-A', 'dropped', 1, 3, 3],
    ]);
    expect(outbox.stats().droppedTotal).toBe(3);
    expect(outbox.unreportedGaps().length).toBe(1);
    outbox.markGapsReported(gaps.map((g) => g.id));
    expect(outbox.stats().gapsUnreported).toBe(0);
  });

  it('limits by bytes', async () => {
    const { outbox, gaps } = await open({ maxBytes: 400 });
    for (let i = 0; i < 10; i++) outbox.append('shelf-A', [reading(i)]);
    expect(outbox.stats().bytes).toBeLessThanOrEqual(400);
    expect(gaps.reduce((n, g) => n + g.count, 0) + outbox.stats().depth).toBe(10);
  });

  it('drops readings older than the max age', async () => {
    let now = 10_000;
    const { outbox, gaps } = await open({ maxAgeMs: 1000, now: () => now });
    outbox.append('shelf-A', [reading(8000), reading(9500), reading(9900)]);
    now = 10_600;
    outbox.enforceAge();
    expect(outbox.read('shelf-A', 0, 10).map((r) => r.seq)).toEqual([3]);
    expect(gaps[0]).toMatchObject({ reason: 'older than max age', fromSeq: 1, toSeq: 2, count: 2 });
  });

  it('reject-new refuses the batch, consumes its seqs and records the gap', async () => {
    const { outbox, gaps } = await open({ maxRows: 2, policy: 'reject-new' });
    outbox.append('shelf-A', [reading(1), reading(2)]);
    expect(outbox.append('shelf-A', [reading(3)])).toBeUndefined();
    expect(gaps[0]).toMatchObject({ fromSeq: 3, toSeq: 3, count: 1 });
    expect(outbox.read('shelf-A', 0, 10).map((r) => r.seq)).toEqual([1, 2]);
  });

  it('remembers executed command ids', async () => {
    const { outbox } = await open();
    const store = new CommandStore(outbox.db);
    expect(store.begin('c1', 'shelf-A')).toEqual({ fresh: true });
    expect(store.begin('c1', 'shelf-A')).toMatchObject({ fresh: false, record: { status: 'running' } });
    store.begin('c2', null);
    store.finish('c1', 'done');
    expect(store.unreported().map((c) => c.id)).toEqual(['c1']);
    store.markReported(['c1']);
    expect(store.failInterrupted()).toBe(1);
    expect(store.get('c2')).toMatchObject({ status: 'failed', reason: 'agent restarted while executing' });
  });

  it.each(['normal', 'full'] as const)(
    'keeps every committed batch when the writer is killed -9 (%s)',
    async (durability) => {
      const dir = await tempDir('bv-outbox-kill-');
      cleanups.push(dir.remove);
      const path = join(dir.path, 'outbox.db');
      const script = fileURLToPath(new URL('../../test/fixtures/outbox-writer.ts', import.meta.url));
      let expectedLast = 0;
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', script, path, durability], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let committed = 0;
        let buffered = '';
        const target = 5 + round * 7;
        await new Promise<void>((resolve, reject) => {
          child.once('error', reject);
          child.once('exit', () => resolve());
          child.stdout.on('data', (chunk: Buffer) => {
            buffered += chunk.toString();
            const lines = buffered.split('\n');
            buffered = lines.pop() ?? '';
            for (const line of lines) {
              const n = Number(line.split(' ')[1]);
              if (n > committed) committed = n;
              if (committed >= expectedLast + target * 50) child.kill('SIGKILL');
            }
          });
        });
        expect(committed).toBeGreaterThan(expectedLast);
        const outbox = Outbox.open({
          path,
          durability,
          policy: 'drop-oldest',
          maxRows: 1e7,
          maxBytes: 1e10,
          maxAgeMs: 1e9,
        });
        const last = outbox.lastSeq('shelf-K');
        // Everything reported committed is there, contiguous from 1 (more may be: committed, not yet printed).
        expect(last).toBeGreaterThanOrEqual(committed);
        expect(outbox.stats().depth).toBe(last);
        const seqs = outbox.read('shelf-K', 0, last + 1).map((r) => r.seq);
        expect(seqs.length).toBe(last);
        expect(seqs[seqs.length - 1]).toBe(last);
        outbox.close();
        expectedLast = last;
      }
    },
    60_000,
  );
});
