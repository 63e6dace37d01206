import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Random } from '@bitv/shared/random';
import { eventually, mosquittoUrl, serverAvailable, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../scripts/build.js';
import { AgentProcess } from './harness/agent-process.js';
import { TestShelf } from './harness/shelf.js';
import { TestSubscriber } from './harness/subscriber.js';
import { configEnv, testConfig } from './helpers.js';

const SEED = 20261121;

/**
 * The agent is SIGKILLed at seeded random moments while a shelf streams at 50 Hz over TCP, a link
 * that loses what the shelf sends while no agent is connected (as USB CDC does: the kernel drops
 * input for a closed port and opening it flushes), and whatever was in flight when an agent died.
 * Afterwards: every reading the agent stored reached the subscriber (outbox seqs 1..n, no hole);
 * duplicates only with the same (device, seq) and identical content.
 * - A replay shelf (docs/shelf-link.md [SL-REPLAY-1]): every reading it produced was delivered,
 *   each under exactly one seq, and no link gap was reported.
 * - A shelf without replay: the readings sent while the agent was down are lost, and reported
 *   exactly: a reading is missing if and only if its frame lies in a reported link gap.
 */
describe.skipIf(!(await serverAvailable('mosquitto')))('edge agent killed with SIGKILL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  let bundle: string;
  beforeAll(async () => {
    // The deployment artifact (one bundled file, plain node), as systemd runs it.
    bundle = await buildAgentBundle(
      fileURLToPath(new URL(`../dist/kill-test-${process.pid}.mjs`, import.meta.url)),
    );
    cleanups.push(() => rm(bundle, { force: true }));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.each([
    { replay: true, kills: 20 },
    { replay: false, kills: 6 },
  ])(
    'replay $replay: loses nothing silently across $kills kills (seed 20261121)',
    async ({ replay, kills }) => {
      const random = new Random(SEED);
      const dir = await tempDir('bv-edge-kill-');
      cleanups.push(dir.remove);
      const serial = replay ? 'KILLR1' : 'KILL01';
      const shelf = new TestShelf(serial, 4, undefined, { replay });
      await shelf.open();
      cleanups.push(() => shelf.close());
      const config = testConfig(dir.path, mosquittoUrl(), { serialPorts: [shelf.hostPath], opsPort: -1 });
      const device = `shelf-${serial}`;
      const sub = new TestSubscriber(mosquittoUrl(), config.groupId);
      await sub.start();
      cleanups.push(() => sub.close());
      const agent = new AgentProcess(configEnv(config), bundle);
      cleanups.push(() => agent.kill());

      agent.start();
      await eventually(() => sub.messages.some((m) => m.type === 'DBIRTH'), 'first DBIRTH', 30_000);
      shelf.stream(20);
      const nbirths = () => sub.messages.filter((m) => m.type === 'NBIRTH').length;
      for (let k = 0; k < kills; k++) {
        // A random moment of a running session: after its NBIRTH, while it stores and publishes.
        const before = nbirths();
        await eventually(() => nbirths() > before || k === 0, 'agent session up', 30_000);
        await new Promise((r) => setTimeout(r, random.next() * 800));
        await agent.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, random.next() * 300));
        agent.start();
      }
      await new Promise((r) => setTimeout(r, 1000));
      shelf.stopStreaming();
      const producedTotal = shelf.produced.length;
      const inGap = (linkSeq: number) =>
        sub.gaps.some(
          (g) => g.device === device && g.kind === 'link' && linkSeq >= g.fromSeq && linkSeq <= g.toSeq,
        );
      const delivered = () =>
        new Set([...(sub.readings.get(device)?.values() ?? [])].map((r) => r.reading.bins[0]!.weightG));
      await eventually(
        () => {
          const got = delivered();
          return shelf.produced.every((p, n) => got.has(n) || (!replay && inGap(p.linkSeq)));
        },
        replay ? 'every produced reading delivered' : 'every produced reading delivered or reported lost',
        60_000,
      );
      const seqs = [...sub.readings.get(device)!.keys()].sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // every stored reading arrived, no hole
      for (const { reading } of sub.readings.get(device)!.values()) {
        const n = reading.bins[0]!.weightG;
        expect(reading.bins).toEqual(
          shelf.produced[n]!.weightsDg.map((dg, bin) => ({ bin, weightG: dg / 10 })),
        );
      }
      expect(sub.seqErrors.filter((e) => e.includes('differs'))).toEqual([]);
      expect(sub.gaps.filter((g) => g.kind === 'dropped')).toEqual([]);
      const got = delivered();
      const lost = shelf.produced.flatMap((_p, n) => (got.has(n) ? [] : [n]));
      const births = nbirths();
      console.info(
        `kill test (replay ${replay}): produced ${producedTotal}, delivered ${got.size}, ` +
          `stored ${seqs.length}, duplicates ${sub.duplicates}, discarded on the link ${shelf.discarded}, ` +
          `replayed ${shelf.replayed}, lost ${lost.length} (reported in ${sub.gaps.length} gap events), ` +
          `NBIRTHs ${births}`,
      );
      expect(births).toBeGreaterThanOrEqual(kills);
      // The link really lost output while agents were down.
      expect(shelf.discarded).toBeGreaterThan(0);
      if (replay) {
        expect(lost).toEqual([]);
        expect(sub.gaps).toEqual([]);
        // Each reading under exactly one seq: replays of stored readings were not stored again.
        expect(seqs).toHaveLength(producedTotal);
        expect(shelf.replayed).toBeGreaterThan(0);
      } else {
        expect(lost.length).toBeGreaterThan(0);
        // Exact: a reading is in a reported gap if and only if it was never delivered.
        expect(shelf.produced.flatMap((p, n) => (inGap(p.linkSeq) ? [n] : []))).toEqual(lost);
        // One link gap per restart at most (the frames sent while that agent was down).
        expect(sub.gaps.length).toBeLessThanOrEqual(kills + 1);
      }
    },
    150_000,
  );
});
