import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulation } from '@bitv/firmware-sim';
import { Random } from '@bitv/shared/random';
import { eventually, mosquittoUrl, serverAvailable, tempDir } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../scripts/build.js';
import { Outbox } from '../src/outbox/index.js';
import { AgentProcess } from './harness/agent-process.js';
import { TestSubscriber } from './harness/subscriber.js';
import { configEnv, testConfig } from './helpers.js';

const KILLS = 6;

/**
 * The same SIGKILL drill against the firmware simulator (two replay shelves at 20 Hz) on TCP,
 * which loses output while no agent is connected, as USB CDC does: every reading the simulator
 * sampled reaches the subscriber once in effect, with no link gap (the shelves replay what no
 * agent stored, docs/shelf-link.md [SL-REPLAY-1]), and what the last agent stored is delivered or
 * still in its outbox.
 */
describe.skipIf(!(await serverAvailable('mosquitto')))(
  'edge agent killed while the simulator streams',
  () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it(`delivers every stored reading across ${KILLS} kills`, async () => {
      const random = new Random(7);
      const dir = await tempDir('bv-edge-killsim-');
      cleanups.push(dir.remove);
      const sim = await startSimulation({
        transport: 'tcp',
        shelves: 2,
        bins: 4,
        seed: 3,
        speed: 2,
        controlPort: null,
      });
      cleanups.push(() => sim.close());
      const config = testConfig(dir.path, mosquittoUrl(), {
        serialPorts: sim.shelves.map((s) => s.path),
        opsPort: -1,
      });
      const sub = new TestSubscriber(mosquittoUrl(), config.groupId);
      await sub.start();
      cleanups.push(() => sub.close());
      const bundle = await buildAgentBundle(
        fileURLToPath(new URL(`../dist/kill-sim-${process.pid}.mjs`, import.meta.url)),
      );
      cleanups.push(() => rm(bundle, { force: true }));
      const agent = new AgentProcess(configEnv(config), bundle);
      cleanups.push(() => agent.kill());
      const nbirths = () => sub.messages.filter((m) => m.type === 'NBIRTH').length;
      agent.start();
      for (let k = 0; k < KILLS; k++) {
        const before = nbirths();
        await eventually(() => nbirths() > before, 'agent session up', 30_000);
        await new Promise((r) => setTimeout(r, 200 + random.next() * 800));
        await agent.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, random.next() * 300));
        agent.start();
      }
      const devices = sim.shelves.map((s) => `shelf-${s.serialNumber}`);
      // Let the last agent run, then check that what it stored is all there.
      await eventually(
        () => devices.every((d) => sub.count(d) > 0) && nbirths() > KILLS,
        'last session up',
        30_000,
      );
      // Every reading the simulator sampled so far arrives, including those sent while no agent
      // was connected or read by an agent that died before storing them: the shelves replay them.
      const sent = sim.shelves.map((sh) => sh.snapshot().counters.readingsSent);
      await eventually(
        () => devices.every((d, i) => sub.count(d) >= sent[i]!),
        'every reading the simulator sampled delivered',
        30_000,
      );
      expect(sub.gaps).toEqual([]);
      const counters = sim.shelves.map((sh) => sh.snapshot().counters);
      // The link really lost output while agents were down (heartbeats are not kept), the shelves'
      // stores never overflowed.
      expect(counters.every((c) => c.txDropped > 0)).toBe(true);
      expect(counters.map((c) => c.replayEvicted)).toEqual([0, 0]);
      console.info(
        `kill-sim: sampled ${sent.join('+')}, delivered ${devices.map((d) => sub.count(d)).join('+')}, ` +
          `frames lost on the link ${counters.map((c) => c.txDropped).join('+')}, duplicates ${sub.duplicates}`,
      );
      await agent.kill('SIGTERM');
      // Whatever the agent stored was delivered, or is still in its outbox for the next run.
      const outbox = Outbox.open({
        path: join(config.dataDir, 'outbox.db'),
        durability: 'normal',
        policy: 'drop-oldest',
        maxRows: 1e7,
        maxBytes: 1e10,
        maxAgeMs: 1e10,
      });
      cleanups.push(async () => outbox.close());
      for (const d of devices) {
        const delivered = [...(sub.readings.get(d)?.keys() ?? [])];
        const pending = outbox.read(d, 0, 1e6).map((r) => r.seq);
        const all = [...new Set([...delivered, ...pending])].sort((a, b) => a - b);
        expect(delivered.length).toBeGreaterThan(0);
        expect(all, d).toEqual(Array.from({ length: outbox.lastSeq(d) }, (_, i) => i + 1));
      }
      expect(sub.seqErrors.filter((e) => e.includes('differs'))).toEqual([]);
      expect(sub.gaps.filter((g) => g.kind === 'dropped')).toEqual([]);
    }, 120_000);
  },
);
