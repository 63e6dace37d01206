import { eventually } from '@bitv/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { type E2ePlatform, startE2ePlatform } from './e2e-platform.js';

/**
 * The feed page end to end, as `npm start` runs it: the admin follows a shopper from the page, the
 * shopper's post (naming a product) appears on the open page over SSE without a reload, the admin
 * posts from the page, likes, comments, and as a moderator hides a reported post.
 */
describe('end to end: the feed page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  let admin: string;
  let shopper: string;
  let shopperId: string;
  const api = <T>(token: string, path: string, init: RequestInit = {}) => e2e.apiAs<T>(token, path, init);

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-feed-',
      env: { BV_DEMO_SHELVES: '1', BV_DEMO_BINS: '2', BV_DEMO_SHOPPER: 'false' },
      landOn: '/feed',
    });
    page = e2e.page;
    admin = e2e.token;
    ({ id: shopperId, token: shopper } = await e2e.invite({
      email: 'shopper@e2e.local',
      name: 'Shopper',
      role: 'partner',
    }));
  }, 480_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('follows, sees a post live, posts, likes, comments and hides', async () => {
    await page.getByTestId('feed-live').locator('text=live').waitFor({ timeout: 30_000 });
    await page.evaluate('window.stayed = true');
    // Follow the shopper from the page.
    await page.locator('#feed-follow select[name=kind]').selectOption('user');
    await page.locator('#feed-follow input[name=target]').fill(shopperId);
    await page.locator('#feed-follow button[type=submit]').click();
    await page.getByTestId('feed-follows').locator(`text=${shopperId}`).waitFor({ timeout: 20_000 });

    // The shopper posts naming a product of the demo site: it arrives over SSE.
    const { bins } = await api<{ bins: { sku: string | null }[] }>(admin, '/api/v1/sites/demo-site/layout');
    const sku = bins.find((b) => b.sku)?.sku;
    if (!sku) throw new Error('the demo shelf has no product');
    const shopperPost = await api<{ id: string }>(shopper, '/api/v1/feed/posts', {
      method: 'POST',
      body: JSON.stringify({
        body: `Just bought #${sku}, lovely.`,
        images: ['https://example.com/photo.jpg'],
      }),
    });
    const card = page.locator(`article[data-post="${shopperPost.id}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await page.evaluate('window.stayed')).toBe(true);
    await expect(card.locator('.mention').textContent()).resolves.toContain(sku);
    await screenshot(page, 'e2e-feed-live');

    // The admin posts from the page; it comes back over the stream at the top.
    await page.locator('#feed-compose textarea[name=body]').fill('Restocked aisle 1 this morning');
    await page.getByTestId('feed-post-submit').click();
    await page
      .locator('#feed-items article[data-testid=feed-post]')
      .first()
      .locator('text=Restocked aisle 1 this morning')
      .waitFor({ timeout: 30_000 });

    // Like and comment on the shopper's post.
    await card.getByTestId('like').click();
    await card.locator('[data-likes]:text-is("1")').waitFor({ timeout: 20_000 });
    await card.locator('[data-comment-form] input[name=body]').fill('Glad you like it');
    await card.locator('[data-comment-form] button[type=submit]').click();
    await card
      .locator('[data-comment-list] li', { hasText: 'Glad you like it' })
      .waitFor({ timeout: 20_000 });

    // Someone reports it; the moderator sees it in the queue and hides it.
    await api(shopper, `/api/v1/feed/posts/${shopperPost.id}/report`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'testing the queue' }),
    });
    await page.reload();
    const queued = page.getByTestId('feed-reported').locator(`article[data-post="${shopperPost.id}"]`);
    await queued.waitFor({ timeout: 20_000 });
    await queued.getByTestId('hide').click();
    await queued.locator('[data-testid=hide]:text-is("Show")').waitFor({ timeout: 20_000 });
    await eventually(
      async () => {
        const home = await api<{ items: { post: { id: string } }[] }>(admin, '/api/v1/feed/home');
        return home.items.every((i) => i.post.id !== shopperPost.id) ? true : undefined;
      },
      'the hidden post gone from the home feed',
      20_000,
      500,
    );
    await screenshot(page, 'e2e-feed-moderated');
  }, 300_000);
});
