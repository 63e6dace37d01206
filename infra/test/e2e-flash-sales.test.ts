import { eventually, tempDir } from '@bitv/shared/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

const { email: adminEmail, password: adminPassword } = e2eAdmin;
const site = 'demo-site';

/**
 * The flash-sale page end to end, as `npm start` runs it: the demo sale counts down to its start;
 * a sale created from the page runs at once, and a buy from the page moves its remaining quantity
 * on the open page through the public stream, without a reload.
 */
describe('end to end: the flash-sale page', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  let removeRunDir: () => Promise<void>;
  let token: string;

  const bins = async () => {
    const res = await fetch(`${platform.info.dashboardUrl}/api/v1/sites/${site}/layout`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(20_000),
    });
    return ((await res.json()) as { bins: { sku: string | null; count: number; weighed: boolean }[] }).bins;
  };

  beforeAll(async () => {
    const dir = await tempDir('bv-e2e-flash-');
    removeRunDir = dir.remove;
    // A shared 2-core machine can take minutes to start it (the helper's default is 90 s).
    platform = await startPlatformProcess(
      dir.path,
      {
        BV_ADMIN_EMAIL: adminEmail,
        BV_ADMIN_PASSWORD: adminPassword,
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        // No embedded payment providers: their fixed ports may be taken by another platform beside this one.
        BV_BANK_PORT: '-1',
        BV_REST_PAY_PORT: '-1',
        BV_DEMO_PICKER_ERROR_RATE: '0',
      },
      240_000,
    );
    const login = await fetch(`${platform.info.dashboardUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    token = ((await login.json()) as { accessToken: string }).accessToken;
    // What is left is what the shelves weigh: wait until every bin has been weighed.
    await eventually(async () => (await bins()).every((b) => b.weighed), 'every bin weighed', 120_000, 1_000);
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(`${platform.info.dashboardUrl}/login?next=/flash-sales`);
    await fillLogin(page, adminEmail, adminPassword);
    await page.waitForURL((url) => url.pathname === '/flash-sales');
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('shows the demo sale counting down, creates a sale, and a buy moves what is left live', async () => {
    // npm start's demo sale starts a minute after the platform: counting down to its start, or
    // (if weighing the bins took longer) to its end.
    const demo = page.getByTestId('flash-sale').first();
    await demo.locator('[data-live]:text-is("live")').waitFor({ timeout: 30_000 });
    await demo
      .getByTestId('flash-countdown')
      .locator('text=/^(starts|ends) in /')
      .waitFor({ timeout: 30_000 });
    const phase = await demo.getAttribute('data-phase');
    expect(['upcoming', 'live']).toContain(phase);
    await expect(demo.getByTestId('flash-countdown').textContent()).resolves.toMatch(
      phase === 'upcoming' ? /^starts in / : /^ends in /,
    );

    const bin = (await bins()).find((b) => b.sku !== null && b.count >= 3);
    if (!bin?.sku) throw new Error('the demo shelf has no bin with 3 units');
    const form = page.getByTestId('flash-create');
    await form.locator('input[name=sku]').fill(bin.sku);
    await form.locator('input[name=siteId]').fill(site);
    await form.locator('input[name=title]').fill('E2E sale');
    await form.locator('input[name=quantity]').fill('3');
    await form.locator('input[name=limit]').fill('2');
    await page.getByTestId('flash-create-submit').click();
    const card = page.locator('[data-testid=flash-sale]', { hasText: 'E2E sale' });
    await card.waitFor({ timeout: 30_000 });
    await card.locator('[data-live]:text-is("live")').waitFor({ timeout: 30_000 });
    await expect(card.getAttribute('data-phase')).resolves.toBe('live');
    await expect(card.getByTestId('flash-remaining').textContent()).resolves.toBe('3');
    await card.getByTestId('flash-countdown').locator('text=/^ends in /').waitFor({ timeout: 30_000 });
    await page.evaluate('window.stayed = true');

    await card.getByTestId('flash-buy').click();
    await card.getByTestId('flash-bought').locator('text=/Order .+/').waitFor({ timeout: 30_000 });
    // The claim and then checkout's hold: the stream says 2 left, on the same page.
    await card.locator('[data-testid=flash-remaining]:text-is("2")').waitFor({ timeout: 30_000 });
    expect(await page.evaluate('window.stayed')).toBe(true);
    await screenshot(page, 'e2e-flash-sales');
  }, 300_000);
});
