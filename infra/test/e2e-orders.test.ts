import { eventually, tempDir } from '@bitv/shared/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

const { email: adminEmail, password: adminPassword } = e2eAdmin;
const site = 'demo-site';

/**
 * The orders page end to end, as `npm start` runs it (no demo shopper): an order placed through
 * the API is listed and confirmed, its status moves on the open page without a reload as the
 * simulated picker picks it, and its detail shows the event timeline.
 */
describe('end to end: the orders page', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  let removeRunDir: () => Promise<void>;
  let token: string;

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${platform.info.dashboardUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as T;
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const bins = async () =>
    (
      await api<{ bins: { sku: string | null; count: number; weighed: boolean }[] }>(
        `/api/v1/sites/${site}/layout`,
      )
    ).bins;

  beforeAll(async () => {
    const dir = await tempDir('bv-e2e-orders-');
    removeRunDir = dir.remove;
    platform = await startPlatformProcess(dir.path, {
      BV_ADMIN_EMAIL: adminEmail,
      BV_ADMIN_PASSWORD: adminPassword,
      BV_DEMO_SHELVES: '1',
      BV_DEMO_BINS: '2',
      BV_DEMO_SHOPPER: 'false',
      BV_DEMO_PICKER_ERROR_RATE: '0',
    });
    const login = await fetch(`${platform.info.dashboardUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    token = ((await login.json()) as { accessToken: string }).accessToken;
    // Checkout reserves against the counts from weight: wait until every bin has been weighed.
    await eventually(async () => (await bins()).every((b) => b.weighed), 'every bin weighed', 120_000, 1_000);
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(`${platform.info.dashboardUrl}/login?next=/orders`);
    await fillLogin(page, adminEmail, adminPassword);
    await page.waitForURL((url) => url.pathname === '/orders');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('lists an order placed through the API as confirmed, follows its status live, and shows its timeline', async () => {
    await page.goto(`${platform.info.dashboardUrl}/orders?site=${site}`);
    await page.locator('#orders-live:text-is("live")').waitFor({ timeout: 30_000 });
    // No reload from here until the order is listed: a reload would drop this mark.
    await page.evaluate('window.stayed = true');
    const bin = (await bins()).find((b) => b.sku !== null && b.count >= 2);
    if (!bin?.sku) throw new Error('the demo shelf has no stocked bin');
    const { orderId } = await api<{ orderId: string }>('/api/v1/orders', {
      method: 'POST',
      headers: { 'idempotency-key': `e2e-orders-${Date.now()}` },
      body: JSON.stringify({
        siteId: site,
        customerId: 'e2e-shopper',
        lines: [{ sku: bin.sku, quantity: 1 }],
      }),
    });
    // The open page hears of the new order over the socket and offers a reload.
    await page.getByTestId('orders-new').waitFor({ state: 'visible', timeout: 60_000 });
    expect(await page.evaluate('window.stayed')).toBe(true);
    await screenshot(page, 'e2e-orders-new');
    await page.getByTestId('orders-new').locator('a').click();
    await page.waitForURL((url) => url.pathname === '/orders' && url.search === '');
    const row = page.locator(`tr[data-order="${orderId}"]`);
    const loadedAt = Number(await row.getAttribute('data-version'));
    const rowIn = (...statuses: string[]) =>
      page
        .locator(`tr[data-order="${orderId}"]:is(${statuses.map((x) => `[data-status="${x}"]`).join(',')})`)
        .waitFor({ timeout: 120_000 });
    await rowIn('confirmed', 'picking', 'picked');
    await screenshot(page, 'e2e-orders-list');
    // The simulated picker picks it (a few seconds); the row follows the live messages.
    await page.locator('#orders-live:text-is("live")').waitFor({ timeout: 30_000 });
    await rowIn('picked');
    // Listed before it was picked (the usual case): the row moved on without a reload.
    if (loadedAt < 5) expect(Number(await row.getAttribute('data-version'))).toBe(5);
    await screenshot(page, 'e2e-orders-live');

    await row.locator('a').click();
    await page.waitForURL((url) => url.pathname === `/orders/${orderId}`);
    await expect(page.getByTestId('order-status').textContent()).resolves.toContain('picked');
    const events = await page
      .getByTestId('order-timeline')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')));
    expect(events).toEqual([
      'bv.order.placed.v1',
      'bv.order.reserved.v1',
      'bv.order.confirmed.v1',
      'bv.order.picking.v1',
      'bv.order.picked.v1',
    ]);
    await screenshot(page, 'e2e-orders-detail');
  }, 300_000);
});
