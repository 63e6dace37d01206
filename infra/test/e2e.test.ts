import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@bitv/shared/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, repoRoot, startPlatformProcess } from './platform-process.js';

const chromiumPath = process.env.BV_CHROMIUM ?? '/usr/bin/chromium';
const adminEmail = 'admin@e2e.local';
const adminPassword = 'e2e-password-1234';
const screenshotDir = join(repoRoot, 'test-results');

describe('end to end: simulated shelf -> edge agent -> gateway -> cloud -> dashboard', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let removeRunDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir('bv-e2e-');
    removeRunDir = dir.remove;
    platform = await startPlatformProcess(dir.path, {
      BV_ADMIN_EMAIL: adminEmail,
      BV_ADMIN_PASSWORD: adminPassword,
      BV_DEMO_SHELVES: '2',
      BV_DEMO_BINS: '4',
    });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('shows a pick of 3 items at the shelf as a count 3 lower on the dashboard', async () => {
    const { info } = platform;
    expect([info.database, info.eventLog], 'npm start runs on its embedded defaults').toEqual([
      'pglite',
      'database',
    ]);
    const shelf = info.shelves[0]!;
    const bin = 1;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${info.dashboardUrl}/login`);
    await page.getByTestId('login-email').fill(adminEmail);
    await page.getByTestId('login-password').fill(adminPassword);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    if (!page.url().includes('/sites/')) await page.goto(`${info.dashboardUrl}/sites/demo-site`);

    const count = page.getByTestId(`bin-count-${shelf.deviceId}-${bin}`);
    const tile = page.getByTestId(`bin-${shelf.deviceId}-${bin}`);
    // The cloud aligns the seeded count with the shelf's first stable weight; a pick before that
    // would be taken as the starting stock. The tile says when its count has been weighed.
    await expect
      .poll(
        async () => {
          await page.reload();
          return tile.getAttribute('data-weighed');
        },
        { timeout: 45_000, interval: 500 },
      )
      .toBe('true');
    const before = Number.parseInt((await count.textContent()) ?? '', 10);
    expect(before).toBeGreaterThanOrEqual(3);

    const response = await fetch(`${info.simControlUrl}/shelves/${shelf.serialNumber}/bins/${bin}/pick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 3 }),
    });
    expect(response.ok).toBe(true);

    await expect
      .poll(async () => Number.parseInt((await count.textContent()) ?? '', 10), { timeout: 15_000 })
      .toBe(before - 3);
    await mkdir(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'e2e-dashboard.png'), fullPage: true });
  }, 90_000);
});
