import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKeys, generateReleaseKey, signImage } from '@bitv/shared/firmware';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { folderObjectStore } from '@bitv/shared/object-store';
import { encodeCommands } from '@bitv/shared/sparkplug';
import { eventually, freePort, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type EdgeAgentHandle, startEdgeAgent } from '../src/agent.js';
import type { EdgeConfig } from '../src/config.js';
import { reportHealthyWhenOnline } from '../src/ota/health.js';
import { activate, currentVersion, lastUpdate, rollBack } from '../src/ota/self-update.js';
import { agentVersion } from '../src/version.js';
import { TestBroker } from './harness/broker.js';
import { TestSubscriber } from './harness/subscriber.js';
import { testConfig } from './helpers.js';

/**
 * docs/ota.md: an `agent_update` command is answered when its trial ends, by whichever version
 * runs then. The real agent (this code, in process) on Mosquitto: it installs a signed bundle and
 * asks for its restart without answering; after the supervisor's verdict the next start answers
 * `failed: rolled_back <why>` (the previous version back) or `done` (the new one healthy).
 */
const key = generateReleaseKey();

describe('agent_update results after the trial', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function setup(runningVersion: string) {
    const dir = await tempDir('bv-update-report-');
    cleanups.push(dir.remove);
    const broker = new TestBroker(await freePort());
    await broker.start();
    cleanups.push(() => broker.stop());
    const root = join(dir.path, 'agent');
    await mkdir(join(root, 'versions', runningVersion), { recursive: true });
    await writeFile(join(root, 'versions', runningVersion, 'bitv-edge.mjs'), '');
    await activate(root, runningVersion);
    await writeFile(join(dir.path, 'release.pub'), key.publicKeyPem);
    const config: EdgeConfig = testConfig(dir.path, broker.url, {
      opsPort: -1,
      updateDir: root,
      firmwareStore: `file://${dir.path}/store`,
      firmwarePublicKeys: [join(dir.path, 'release.pub')],
    });
    const sub = new TestSubscriber(broker.url, config.groupId);
    await sub.start();
    cleanups.push(() => sub.close());
    let restarts = 0;
    const start = async () => {
      const agent = await startEdgeAgent(config, {
        logger: silentLogger,
        registry: createRegistry(),
        requestRestart: () => restarts++,
      });
      cleanups.push(() => agent.close());
      return agent;
    };
    const publish = async (version: string) => {
      const image = Buffer.from(`// edge agent ${version}\n`);
      const m = signImage(image, { privateKeyPem: key.privateKeyPem, target: 'edge-agent', version });
      const store = folderObjectStore(`${dir.path}/store`);
      await store.put(artifactKeys('edge-agent', version).image, image);
      await store.put(artifactKeys('edge-agent', version).manifest, Buffer.from(JSON.stringify(m)));
    };
    /** The cloud's NCMD, as the gateway publishes it. */
    const command = (id: string, version: string) =>
      sub.publish(
        `spBv1.0/${config.groupId}/NCMD/${config.edgeNodeId}`,
        encodeCommands({ commands: [{ id, action: { action: 'agent_update', version } }] }),
      );
    const online = (agent: EdgeAgentHandle) =>
      eventually(() => agent.status().uplink.state === 'online', 'agent online', 20_000);
    const restarted = () =>
      eventually(() => restarts === 1, 'the restart asked for', 20_000).catch((error: unknown) => {
        throw new Error(`${String(error)}; results: ${JSON.stringify(sub.results)}`);
      });
    return { root, sub, start, publish, command, online, restarted };
  }

  it('a version the supervisor rolls back: the previous one, restarted, answers failed rolled_back', async () => {
    const t = await setup(agentVersion);
    const id = randomUUID();
    await t.publish('9.9.9');
    const first = await t.start();
    await t.online(first);
    await t.command(id, '9.9.9');
    await t.restarted();
    expect(await currentVersion(t.root)).toBe('9.9.9');
    await first.close();
    // Installed, not yet proven: nothing answered.
    expect(t.sub.results.filter((r) => r.id === id)).toEqual([]);

    // 9.9.9 never reports healthy; the supervisor's verdict (AgentSupervisor.fail) puts this back.
    await rollBack(t.root, 'not healthy within 4000 ms');
    expect(await currentVersion(t.root)).toBe(agentVersion);
    const again = await t.start();
    await eventually(() => t.sub.results.some((r) => r.id === id), 'the update result', 20_000);
    await again.close();
    expect(t.sub.results.filter((r) => r.id === id)).toEqual([
      { id, status: 'failed', reason: 'rolled_back not healthy within 4000 ms' },
    ]);
    expect(await lastUpdate(t.root)).toMatchObject({ commandId: id, reported: true });
  });

  it('a version that comes up healthy keeps the command open through its start, then answers done', async () => {
    const t = await setup('0.0.1');
    const id = randomUUID();
    await t.publish(agentVersion);
    const first = await t.start();
    await t.online(first);
    await t.command(id, agentVersion);
    await t.restarted();
    await first.close();

    // This code is the new version, on trial: its start must not fail the open command.
    const next = await t.start();
    const trial = reportHealthyWhenOnline(next, t.root, agentVersion, silentLogger, 50);
    cleanups.push(async () => trial.stop());
    await eventually(() => t.sub.results.some((r) => r.id === id), 'the update result', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    await next.close();
    expect(t.sub.results.filter((r) => r.id === id)).toEqual([{ id, status: 'done' }]);
    expect(await lastUpdate(t.root)).toMatchObject({ result: 'success', commandId: id, reported: true });
  });
});
