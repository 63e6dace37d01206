import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { type E2ePlatform, e2eSite as site, startE2ePlatform } from './e2e-platform.js';

/**
 * The orders page end to end, as `npm start` runs it (no demo shopper): an order placed through
 * the API is listed and confirmed, its status moves on the open page without a reload as the
 * simulated picker picks it, and its detail shows the event timeline.
 */
describe('end to end: the orders page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  const api = <T>(path: string, init: RequestInit = {}) => e2e.api<T>(path, init);
  const bins = () => e2e.bins();

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-orders-',
      env: {
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        BV_DEMO_PICKER_ERROR_RATE: '0',
      },
      landOn: '/orders',
      // Checkout reserves against the counts from weight.
      waitWeighed: true,
    });
    page = e2e.page;
  }, 420_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('lists an order placed through the API as confirmed, follows its status live, and shows its timeline', async () => {
    await page.goto(`${e2e.url}/orders?site=${site}`);
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
