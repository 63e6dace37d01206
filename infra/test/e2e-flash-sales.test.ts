import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { type E2ePlatform, e2eSite as site, startE2ePlatform } from './e2e-platform.js';

/**
 * The flash-sale page end to end, as `npm start` runs it: the demo sale counts down to its start;
 * a sale created from the page runs at once, and a buy from the page moves its remaining quantity
 * on the open page through the public stream, without a reload.
 */
describe('end to end: the flash-sale page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  const bins = () => e2e.bins();

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-flash-',
      env: {
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        BV_DEMO_PICKER_ERROR_RATE: '0',
      },
      landOn: '/flash-sales',
      // What is left is what the shelves weigh: wait until every bin has been weighed.
      waitWeighed: true,
    });
    page = e2e.page;
  }, 480_000);

  afterAll(async () => {
    const code = await e2e?.close();
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
