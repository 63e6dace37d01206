import { join } from 'node:path';
import { decodeNodeBirth, decodeNodeHealth } from '@bitv/shared/sparkplug';
import { eventually, mosquittoUrl, serverAvailable, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeAgentHandle } from '../src/agent.js';
import { startPtyPair } from './harness/pty.js';
import { TestSubscriber } from './harness/subscriber.js';
import { startTestAgent, testConfig } from './helpers.js';

/** Issue #12, defect 8: a serial port the agent cannot open is reported upward, not only logged. */
describe.skipIf(!(await serverAvailable('mosquitto')))(
  'a port the agent cannot open, against Mosquitto',
  () => {
    let dir: { path: string; remove(): Promise<void> };
    let sub: TestSubscriber;
    let agent: EdgeAgentHandle;
    let metric: (name: string) => Promise<number>;
    let port: string;

    beforeAll(async () => {
      dir = await tempDir('bv-edge-nope-');
      port = join(dir.path, 'shelf.host'); // nothing there yet: /dev/ttyNOPE
      const config = testConfig(dir.path, mosquittoUrl(), { serialPorts: [port], healthIntervalMs: 60_000 });
      sub = new TestSubscriber(mosquittoUrl(), config.groupId);
      await sub.start();
      const started = await startTestAgent(config);
      agent = started.agent;
      metric = started.metric;
    });
    afterAll(async () => {
      await agent?.close();
      await sub?.close();
      await dir?.remove();
    });

    it('says so in the NBIRTH (links/down, links/error) and /metrics, and in an NDATA when the port opens', async () => {
      await eventually(() => sub.messages.some((m) => m.type === 'NBIRTH'), 'NBIRTH');
      const birth = decodeNodeBirth(sub.messages.find((m) => m.type === 'NBIRTH')!.payload);
      if (birth.linksDown === 0) {
        // The first open attempt may finish after the birth: then an NDATA carries it at once.
        await eventually(
          () => sub.messages.some((m) => m.type === 'NDATA' && decodeNodeHealth(m.payload).linksDown === 1),
          'NDATA links/down 1',
        );
      } else expect(birth.linksDown).toBe(1);
      const down = [
        birth,
        ...sub.messages.filter((m) => m.type === 'NDATA').map((m) => decodeNodeHealth(m.payload)),
      ]
        .map((h) => h.linkError ?? '')
        .find((e) => e !== '');
      expect(down).toMatch(new RegExp(`^serial:${port}: .*(no such file|ENOENT)`, 'i'));
      expect(await metric('bv_edge_link_open_failures_total')).toBeGreaterThan(0);
      expect(agent.status().links[0]?.detail).toMatchObject({ openError: expect.any(String) });

      // The shelf is plugged in: the port opens and the next NDATA (not the periodic one, a minute
      // away) says all links are up.
      const pty = await startPtyPair(dir.path, 'shelf');
      try {
        await eventually(
          () =>
            sub.messages.some(
              (m) =>
                m.type === 'NDATA' &&
                decodeNodeHealth(m.payload).linksDown === 0 &&
                decodeNodeHealth(m.payload).linkError === '',
            ),
          'NDATA links/down 0',
        );
      } finally {
        await pty.stop();
      }
    });
  },
);
