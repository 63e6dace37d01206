import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, screenshot } from './browser.js';
import { type E2ePlatform, e2eSite as site, startE2ePlatform } from './e2e-platform.js';

/**
 * The payments page end to end, as `npm start` runs it (embedded SOAP bank and rest-pay, no demo
 * shopper): an order placed through the API is authorized by the default provider and listed,
 * captured once the simulated picker picks it; the admin moves 100 % of new payments to the other
 * provider through the page's toggle form, and the next order's payment goes there; reconciling
 * today through the page matches both captures with each provider's settlement report.
 */
describe('end to end: the payments page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  const api = <T>(path: string, init: RequestInit = {}) => e2e.api<T>(path, init);

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-payments-',
      env: {
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '2',
        BV_DEMO_SHOPPER: 'false',
        BV_DEMO_PICKER_ERROR_RATE: '0',
      },
      landOn: '/payments',
      // Checkout reserves against the counts from weight.
      waitWeighed: true,
    });
    page = e2e.page;
  }, 420_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  const placeOrder = async (tag: string): Promise<string> => {
    const bin = (await e2e.bins()).find((b) => b.sku !== null && b.count >= 1);
    if (!bin?.sku) throw new Error('the demo shelf has no stocked bin');
    const { orderId } = await api<{ orderId: string }>('/api/v1/orders', {
      method: 'POST',
      headers: { 'idempotency-key': `e2e-payments-${tag}-${Date.now()}` },
      body: JSON.stringify({ siteId: site, customerId: 'e2e-payer', lines: [{ sku: bin.sku, quantity: 1 }] }),
    });
    return orderId;
  };

  /** The page has no live updates: reload until the payment's row shows one of the statuses. */
  const waitForRow = async (paymentId: string, statuses: string[], timeoutMs: number) => {
    const row = page.locator(`tr[data-payment="${paymentId}"]`);
    const until = Date.now() + timeoutMs;
    for (;;) {
      await page.goto(`${e2e.url}/payments`);
      const status = (await row.count()) === 1 ? await row.getByTestId('payment-status').textContent() : null;
      if (status !== null && statuses.includes(status.trim())) return row;
      if (Date.now() > until) {
        throw new Error(
          `payment ${paymentId} not ${statuses.join('/')} within ${timeoutMs} ms (shown: ${status})`,
        );
      }
      await page.waitForTimeout(2_000);
    }
  };

  it('lists an authorized payment, sees it captured, moves new payments with the toggle, reconciles today', async () => {
    await page.goto(`${e2e.url}/payments`);
    const defaultProvider = (await page.getByTestId('toggle-default').textContent())?.trim() ?? '';
    expect(['soap-bank', 'rest-pay']).toContain(defaultProvider);
    const other = defaultProvider === 'soap-bank' ? 'rest-pay' : 'soap-bank';
    await expect(page.getByTestId('toggle-percent').textContent()).resolves.toBe('0 %');
    await expect(page.getByTestId('toggle-merchants').textContent()).resolves.toBe('none');

    // Checkout authorizes the order's total with the default provider (payment id = order id).
    const first = await placeOrder('first');
    const firstRow = await waitForRow(first, ['authorized', 'captured'], 120_000);
    await expect(firstRow.getByTestId('payment-provider').textContent()).resolves.toBe(defaultProvider);
    await screenshot(page, 'e2e-payments-authorized');
    const payment = (
      await api<{ payment: { status: string; authorizedMinor: number } }>(`/api/v1/payments/${first}`)
    ).payment;
    expect(payment.authorizedMinor).toBeGreaterThan(0);
    // The simulated picker picks it; the picked order is captured in full.
    const captured = await waitForRow(first, ['captured'], 180_000);
    const cells = await captured.locator('td.num').allTextContents();
    expect(cells[0]).toBe(cells[1]);
    await screenshot(page, 'e2e-payments-captured');

    // The admin sends 100 % of new payments to the other provider through the page.
    await page.getByTestId('toggle-percent-provider').selectOption(other);
    await page.getByTestId('toggle-percent-input').fill('100');
    await page.getByTestId('toggle-save').click();
    await page.waitForURL((url) => url.pathname === '/payments');
    await page.getByTestId('toggle-percent').locator('text="100 %"').waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('toggle-error').count()).resolves.toBe(0);
    await expect(page.getByTestId('toggle-default').textContent()).resolves.toBe(defaultProvider);
    await expect(page.getByTestId('toggle').textContent()).resolves.toContain(`to ${other}`);
    // The admin who set it, by name and email, not a stored user id.
    await expect(page.getByTestId('toggle').textContent()).resolves.toContain(
      `Set by Administrator (${e2eAdmin.email})`,
    );
    await screenshot(page, 'e2e-payments-toggle');

    // The next payment goes to the other provider; the first stays where it was authorized.
    const second = await placeOrder('second');
    const secondRow = await waitForRow(second, ['captured'], 180_000);
    await expect(secondRow.getByTestId('payment-provider').textContent()).resolves.toBe(other);
    await expect(
      page.locator(`tr[data-payment="${first}"]`).getByTestId('payment-provider').textContent(),
    ).resolves.toBe(defaultProvider);

    // Reconcile today (UTC) through the page: each provider's report holds its capture, no mismatch.
    const today = new Date().toISOString().slice(0, 10);
    await page.getByTestId('reconcile-day').fill(today);
    await page.getByTestId('reconcile-form').locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.pathname === '/payments');
    const runs = page.getByTestId('reconciliation-runs').locator('tbody tr', { hasText: today });
    await runs.first().waitFor({ timeout: 30_000 });
    const results = await runs.evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
    );
    for (const provider of [defaultProvider, other]) {
      const run = results.find((r) => r[1] === provider);
      expect(run, `a run of ${today} for ${provider}`).toBeDefined();
      const [, , lines, matched, findings] = run ?? [];
      expect(Number(lines)).toBeGreaterThanOrEqual(1);
      expect(matched).toBe(lines);
      expect(findings).toBe('0');
    }
    await page.getByTestId('no-findings').waitFor({ timeout: 10_000 });
    await screenshot(page, 'e2e-payments-reconciled');
  }, 600_000);
});
