import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { artifactKeys, generateReleaseKey, signImage, TrustedKeys } from '@bitv/shared/firmware';
import { silentLogger } from '@bitv/shared/log';
import { folderObjectStore } from '@bitv/shared/object-store';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentUpdateRunner } from '../src/ota/agent-update.js';
import { reportHealthyWhenOnline } from '../src/ota/health.js';
import { fetchRelease } from '../src/ota/release.js';
import {
  activate,
  currentVersion,
  installAgentBundle,
  lastUpdate,
  readTrial,
  switchTo,
} from '../src/ota/self-update.js';
import { AgentSupervisor } from '../src/ota/supervisor.js';

/**
 * The agent's self-update with real processes: signed bundles from the object store, versioned
 * folders and an atomic `current` link, a supervisor restarting the agent, and a rollback when a
 * new version does not report healthy. Each bundle appends to an outbox file in the data dir,
 * which must come through every swap intact.
 */
const selfUpdate = fileURLToPath(new URL('../src/ota/self-update.ts', import.meta.url));
const key = generateReleaseKey();

/** A stand-in agent bundle: records its start in the outbox, marks itself healthy (or never does). */
function bundle(version: string, healthy: boolean): Uint8Array {
  return Buffer.from(`
import { appendFileSync } from 'node:fs';
import { markHealthy } from ${JSON.stringify(selfUpdate)};
appendFileSync(process.env.OUTBOX, ${JSON.stringify(`${version} up\n`)});
${healthy ? `setTimeout(() => void markHealthy(process.env.BV_EDGE_UPDATE_DIR, ${JSON.stringify(version)}), 300);` : ''}
process.on('SIGUSR2', () => process.exit(75)); // the agent's "restart me into current"
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`);
}

describe('edge agent self-update', { timeout: 120_000 }, () => {
  let dir: { path: string; remove: () => Promise<void> };
  let supervisor: AgentSupervisor | undefined;
  const root = () => `${dir.path}/agent`;
  const outbox = () => `${dir.path}/data/outbox.log`;
  const store = () => folderObjectStore(`${dir.path}/store`);
  const keys = new TrustedKeys([key.publicKeyPem]);

  async function publish(version: string, image: Uint8Array) {
    const m = signImage(image, { privateKeyPem: key.privateKeyPem, target: 'edge-agent', version });
    await store().put(artifactKeys('edge-agent', version).image, image);
    await store().put(artifactKeys('edge-agent', version).manifest, Buffer.from(JSON.stringify(m)));
  }

  /** What the agent does on an update command: fetch, verify, install, switch on trial, restart. */
  async function update(version: string) {
    const release = await fetchRelease(store(), keys, 'edge-agent', version, `${dir.path}/downloads`);
    await installAgentBundle(root(), release);
    await switchTo(root(), version);
    process.kill(supervisor!.pid!, 'SIGUSR2');
  }

  beforeAll(async () => {
    dir = await tempDir('bv-self-update-');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(`${dir.path}/data`, { recursive: true });
    await mkdir(`${dir.path}/downloads`, { recursive: true });
    await writeFile(outbox(), 'kept from before\n');
    await publish('1.0.0', bundle('1.0.0', true));
    await publish('1.1.0', bundle('1.1.0', true));
    await publish('1.2.0', bundle('1.2.0', false));
    const first = await fetchRelease(store(), keys, 'edge-agent', '1.0.0', `${dir.path}/downloads`);
    await installAgentBundle(root(), first);
    await activate(root(), '1.0.0');
    supervisor = new AgentSupervisor(
      {
        root: root(),
        command: (b) => [process.execPath, ['--import', 'tsx', b]],
        healthTimeoutMs: 4_000,
        restartDelayMs: 200,
        env: { OUTBOX: outbox() },
      },
      silentLogger,
    );
    await supervisor.start();
    await eventually(
      async () => (await readFile(outbox(), 'utf8')).includes('1.0.0 up'),
      '1.0.0 running',
      30_000,
    );
  });
  afterAll(async () => {
    await supervisor?.stop();
    await dir?.remove();
  });

  it('swaps to a new verified version, restarted by the supervisor, healthy in time', async () => {
    await update('1.1.0');
    await eventually(
      async () => (await lastUpdate(root()))?.version === '1.1.0',
      'the 1.1.0 verdict',
      30_000,
    );
    expect(await lastUpdate(root())).toMatchObject({ version: '1.1.0', result: 'success' });
    expect(await currentVersion(root())).toBe('1.1.0');
    expect(await readTrial(root())).toBeUndefined();
    expect(supervisor!.starts.map((s) => s.version)).toEqual(['1.0.0', '1.1.0']);
    expect(await readFile(outbox(), 'utf8')).toBe('kept from before\n1.0.0 up\n1.1.0 up\n');
  });

  it('rolls a version that never reports healthy back to the one before; the outbox is intact', async () => {
    await update('1.2.0');
    await eventually(
      async () => (await lastUpdate(root()))?.version === '1.2.0',
      'the 1.2.0 verdict',
      30_000,
    );
    expect(await lastUpdate(root())).toMatchObject({
      version: '1.2.0',
      result: 'rolled_back',
      reason: 'not healthy within 4000 ms',
    });
    expect(await currentVersion(root())).toBe('1.1.0');
    await eventually(() => supervisor!.starts.length === 4, 'the previous version restarted', 30_000);
    expect(supervisor!.starts.map((s) => s.version)).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.1.0']);
    await eventually(
      async () => (await readFile(outbox(), 'utf8')).endsWith('1.2.0 up\n1.1.0 up\n'),
      'outbox',
      10_000,
    );
    expect(await readFile(outbox(), 'utf8')).toBe(
      'kept from before\n1.0.0 up\n1.1.0 up\n1.2.0 up\n1.1.0 up\n',
    );
  });

  it('refuses a tampered bundle before installing anything', async () => {
    const tampered = Buffer.from(bundle('1.3.0', true));
    await publish('1.3.0', tampered);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    await store().put(artifactKeys('edge-agent', '1.3.0').image, tampered);
    await expect(
      fetchRelease(store(), keys, 'edge-agent', '1.3.0', `${dir.path}/downloads`),
    ).rejects.toMatchObject({
      reason: 'digest',
    });
    expect(await currentVersion(root())).toBe('1.1.0');
  });

  it('runs an agent_update command: install, switch on trial, restart through the supervisor', async () => {
    await writeFile(`${dir.path}/release.pub`, key.publicKeyPem);
    await publish('1.4.0', bundle('1.4.0', true));
    let restarts = 0;
    const run = agentUpdateRunner(
      {
        storeUrl: `file://${dir.path}/store`,
        publicKeyFiles: [`${dir.path}/release.pub`],
        dataDir: `${dir.path}/data`,
        updateDir: root(),
      },
      () => {
        restarts++;
        process.kill(supervisor!.pid!, 'SIGUSR2'); // the agent's exit with status 75
      },
      silentLogger,
    );
    expect(await run('1.3.0', 'c-1')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^refused before install/),
    });
    // Installed and restarting: the command stays open until the trial ends (update-report.ts).
    expect(await run('1.4.0', 'c-2')).toBe('restarting');
    expect(await readTrial(root())).toMatchObject({ version: '1.4.0', commandId: 'c-2' });
    await eventually(
      async () => (await lastUpdate(root()))?.version === '1.4.0',
      'the 1.4.0 verdict',
      30_000,
    );
    expect(await lastUpdate(root())).toMatchObject({ result: 'success', commandId: 'c-2' });
    expect(restarts).toBe(1);
    expect(await run('1.4.0', 'c-3')).toEqual({ status: 'done' });
    expect(restarts).toBe(1);
  });
});

describe('the agent ending its trial', () => {
  it('marks itself healthy only once its uplink is online', async () => {
    const d = await tempDir('bv-trial-');
    try {
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(`${d.path}/versions/2.0.0`, { recursive: true });
      await writeFile(`${d.path}/versions/2.0.0/bitv-edge.mjs`, '');
      await switchTo(d.path, '2.0.0');
      let state = 'connecting';
      let reported = 0;
      const agent = {
        status: () => ({ uplink: { state } }),
        reportAgentUpdate: async () => {
          reported++;
        },
      } as unknown as Parameters<typeof reportHealthyWhenOnline>[0];
      const watcher = reportHealthyWhenOnline(agent, d.path, '2.0.0', silentLogger, 20);
      await new Promise((r) => setTimeout(r, 200));
      expect(await readTrial(d.path)).toMatchObject({ version: '2.0.0' });
      state = 'online';
      await eventually(async () => (await lastUpdate(d.path))?.result === 'success', 'healthy');
      expect(await readTrial(d.path)).toBeUndefined();
      await eventually(() => reported === 1, 'the update result handed over');
      watcher.stop();
    } finally {
      await d.remove();
    }
  });
});
