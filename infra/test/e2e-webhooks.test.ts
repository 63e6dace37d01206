import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { eventually } from '@bitv/shared/testing';
import type { Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { type E2ePlatform, e2eSite as site, startE2ePlatform } from './e2e-platform.js';

/**
 * The webhooks page end to end, as `npm start` runs it (database queue): an endpoint added in the
 * browser, an order placed through the API arrives at a receiver on loopback signed per Standard
 * Webhooks, the delivery log shows it, Retry sends it again with the same id, Replay queues the
 * window again.
 */
describe('end to end: the partner webhooks page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  let receiver: Server;
  let receiverUrl = '';
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const api = <T>(path: string, init: RequestInit = {}) => e2e.api<T>(path, init);

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('thanks');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const a = receiver.address();
    if (typeof a !== 'object' || !a) throw new Error('no receiver address');
    receiverUrl = `http://127.0.0.1:${a.port}/hook`;

    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-webhooks-',
      env: {
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        // The receiver is on loopback, which the SSRF guard refuses unless told.
        BV_WEBHOOKS_ALLOW_PRIVATE: 'true',
        BV_WEBHOOKS_RETRY_SCHEDULE: '0,1s,2s',
      },
      landOn: '/partner/webhooks',
    });
    page = e2e.page;
  }, 420_000);

  afterAll(async () => {
    const code = await e2e?.close();
    await new Promise((r) => receiver?.close(r));
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('adds an endpoint, shows a signed delivery of an order event, retries it and replays the window', async () => {
    await page.getByTestId('webhook-endpoints-none').waitFor();
    await page.fill('#wh-url', receiverUrl);
    await page.fill('#wh-types', 'bv.order.*');
    await page.getByTestId('webhook-create').click();
    const row = page.getByTestId('webhook-endpoint-row');
    await row.waitFor();
    expect(await row.getByTestId('webhook-endpoint-status').textContent()).toBe('enabled');
    const secret = (await row.getByTestId('webhook-endpoint-secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^whsec_/);

    const layout = await api<{ bins: { sku: string | null }[] }>(`/api/v1/sites/${site}/layout`);
    const sku = layout.bins.find((b) => b.sku !== null)?.sku;
    if (!sku) throw new Error('the demo shelf has no product');
    const { orderId } = await api<{ orderId: string }>('/api/v1/orders', {
      method: 'POST',
      headers: { 'idempotency-key': `e2e-webhooks-${Date.now()}` },
      body: JSON.stringify({
        siteId: site,
        customerId: 'e2e-partner-shopper',
        lines: [{ sku, quantity: 1 }],
      }),
    });
    const placed = await eventually(
      () =>
        received.find((r) => {
          const body = JSON.parse(r.body) as { type: string; data: { orderId: string } };
          return body.type === 'bv.order.placed.v1' && body.data.orderId === orderId;
        }),
      'the order-placed webhook at the receiver',
      60_000,
    );
    const headers = {
      'webhook-id': String(placed.headers['webhook-id']),
      'webhook-timestamp': String(placed.headers['webhook-timestamp']),
      'webhook-signature': String(placed.headers['webhook-signature']),
    };
    expect(() => new Webhook(secret).verify(placed.body, headers)).not.toThrow();

    // The delivery log on the page.
    const delivery = page.locator(`tr[data-delivery-id="${headers['webhook-id']}"]`);
    await eventually(
      async () => {
        await page.reload();
        return (
          (await delivery.getAttribute('data-status', { timeout: 2_000 }).catch(() => null)) === 'delivered'
        );
      },
      'the delivery listed as delivered',
      60_000,
      500,
    );
    expect(await delivery.getByTestId('webhook-delivery-log').textContent()).toMatch(/#1 .*200/);
    await screenshot(page, 'e2e-webhooks-delivered');

    // Retry: the same message again, same webhook-id.
    const before = received.filter((r) => r.headers['webhook-id'] === headers['webhook-id']).length;
    await delivery.getByTestId('webhook-delivery-retry').click();
    await page.waitForURL((url) => url.pathname === '/partner/webhooks');
    await eventually(
      () => received.filter((r) => r.headers['webhook-id'] === headers['webhook-id']).length > before,
      'the retried delivery',
      60_000,
    );

    // Replay the last hour: every delivery of the endpoint queued again.
    await page.getByTestId('webhook-replay').click();
    const flash = await page.getByTestId('webhook-flash').textContent();
    expect(flash).toMatch(/^\d+ deliveries queued again$/);
    expect(Number(flash?.split(' ')[0])).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'e2e-webhooks-replayed');
  });
});
