import { eventually, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

const adminEmail = 'admin@restart.local';
const adminPassword = 'restart-password-1234';
const env = {
  BV_ADMIN_EMAIL: adminEmail,
  BV_ADMIN_PASSWORD: adminPassword,
  BV_DEMO_SHELVES: '1',
  BV_DEMO_BINS: '2',
};

interface BinView {
  count: number;
  weighed: boolean;
  lit: { color: string; blink: string } | null;
}

/**
 * Issue #12 (4): stop and start `npm start` again in the same run folder. The shelves' LEDs are off
 * after the restart (their controllers booted), so the API must not say a bin is lit; and the
 * shelves still hold what they held (a pick stays picked), so no count changes by itself.
 */
describe('npm start restarted: lights are what the shelf shows, stock is what is on it', () => {
  let platform: RunningPlatform | undefined;
  let runDir: { path: string; remove(): Promise<void> };

  beforeAll(async () => {
    runDir = await tempDir('bv-restart-');
  });
  afterAll(async () => {
    await platform?.stop();
    await runDir?.remove();
  }, 60_000);

  async function api(path: string, init: { token: string; method?: string; body?: unknown }) {
    const response = await fetch(`${platform!.info.dashboardUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.token}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  }

  async function login(): Promise<string> {
    const response = await fetch(`${platform!.info.dashboardUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { accessToken: string }).accessToken;
  }

  async function pick(serialNumber: string, bin: number, count: number): Promise<void> {
    const response = await fetch(`${platform!.info.simControlUrl}/shelves/${serialNumber}/bins/${bin}/pick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count }),
    });
    expect(response.ok).toBe(true);
  }

  it('a lit bin is not lit after the restart, and an earlier pick does not come back', async () => {
    platform = await startPlatformProcess(runDir.path, env);
    const shelf = platform.info.shelves[0]!;
    let token = await login();
    const bin = (n: number) =>
      api(`/api/v1/shelves/${shelf.deviceId}/bins/${n}`, { token }) as Promise<unknown> as Promise<BinView>;

    const weighed = await eventually(
      async () => ((await bin(0)).weighed ? bin(0) : undefined),
      'bin 0 weighed',
      60_000,
    );
    expect(weighed.count).toBeGreaterThanOrEqual(3);
    await pick(shelf.serialNumber, 0, 2);
    const afterPick = weighed.count - 2;
    await eventually(async () => (await bin(0)).count === afterPick, 'the pick counted', 30_000);

    await api('/api/v1/gateways/gw-demo-1/commands', {
      token,
      method: 'POST',
      body: {
        command: { action: 'set_led', bin: 1, color: '#ffcc00', blink: 'steady' },
        deviceId: shelf.deviceId,
        ttlSeconds: 60,
      },
    });
    await eventually(async () => (await bin(1)).lit !== null, 'bin 1 lit', 30_000);

    expect(await platform.stop()).toBe(0);
    platform = await startPlatformProcess(runDir.path, env);
    token = await login();

    // The shelf rebooted with every LED off: its birth says so, the cloud follows.
    await eventually(async () => (await bin(1)).lit === null, 'bin 1 not lit after the restart', 60_000);
    // The goods stayed where they were: a further pick of 1 lands on the picked count. Had the
    // shelves come back full, the cloud would have counted the 2 as a restock first.
    await pick(shelf.serialNumber, 0, 1);
    await eventually(
      async () => (await bin(0)).count === afterPick - 1,
      'the next pick counted',
      60_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; bin 0 now ${JSON.stringify(await bin(0))}`);
    });
  }, 240_000);
});
