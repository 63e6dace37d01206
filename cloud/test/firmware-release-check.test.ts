import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKeys } from '@bitv/shared/firmware';
import { tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

/**
 * With the firmware store configured (BV_FIRMWARE_STORE, the one agents fetch from), a rollout of
 * a release that is not in it is refused when it is created, before any device is sent anything.
 */
describe('a rollout needs its release in the firmware store', () => {
  let t: TestCloud;
  let admin: string;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir('bv-release-check-');
    removeDir = dir.remove;
    // A published release: its manifest and image under the keys the agents read.
    const keys = artifactKeys('shelf-controller', '2.1.0');
    for (const key of [keys.manifest, keys.image]) {
      await mkdir(join(dir.path, key, '..'), { recursive: true });
      await writeFile(join(dir.path, key), key.endsWith('.json') ? '{}' : 'image');
    }
    t = await startTestCloud('pglite', { firmwareStore: `file://${dir.path}` });
    await t.cloud.seedDemo({
      shelves: [{ serialNumber: 'RC001', bins: [{ unitWeightG: 100, count: 5 }] }],
    });
    admin = await t.token('admin');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await removeDir?.();
  });

  const rollout = (version: string) =>
    t.cloud.app.request(
      '/api/v1/firmware/rollouts',
      authed(admin, {
        target: 'shelf-controller',
        version,
        selector: { siteId: 'demo-site' },
        waves: { kind: 'fixed', size: 1 },
        abort: { failurePercent: 50, minFinished: 1 },
        deviceTimeoutMs: 60_000,
        retries: 0,
      }),
    );

  it('refuses a version that was never published, naming it, and sends nothing', async () => {
    const res = await rollout('9.9.9');
    expect(res.status).toBe(400);
    expect(JSON.stringify(await json(res))).toContain('shelf-controller 9.9.9');
    const list = await t.cloud.app.request('/api/v1/firmware/rollouts', authed(admin, undefined, 'GET'));
    expect(((await json(list)) as { rollouts: unknown[] }).rollouts).toEqual([]);
  });

  it('starts one whose release is there', async () => {
    const res = await rollout('2.1.0');
    expect(res.status).toBe(201);
  });
});
