import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, screenshot } from './browser.js';
import { type E2ePlatform, startE2ePlatform } from './e2e-platform.js';

/**
 * The catalog page end to end on the embedded platform: a product created and edited from the
 * page, its history growing, an edit made on a page that another tab has overtaken refused with
 * why, search and filters, archive.
 */
describe('end to end: the catalog page', () => {
  let e2e: E2ePlatform;
  let page: Page;

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-catalog-',
      env: { BV_DEMO_SHELVES: '1', BV_DEMO_BINS: '2' },
      landOn: '/catalog',
    });
    page = e2e.page;
  }, 300_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  const field = (p: Page, name: string) => p.locator(`form [name="${name}"]`);

  it('lists the products the platform already has', async () => {
    await expect(page.getByTestId('catalog-list').locator('tbody tr').count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'catalog-list');
  });

  it('creates a product from the page, and refuses a bad price with a message', async () => {
    await page.getByTestId('catalog-new').click();
    await page.waitForURL((url) => url.pathname === '/catalog/new');
    const fill = async (price: string) => {
      await field(page, 'sku').fill('E2E-LAMP');
      await field(page, 'name').fill('Desk lamp');
      await field(page, 'description').fill('A warm white desk lamp');
      await field(page, 'category').fill('lighting');
      await field(page, 'status').selectOption('active');
      await field(page, 'price').fill(price);
      await field(page, 'currency').fill('EUR');
      await field(page, 'unitWeightG').fill('850');
      await field(page, 'toleranceG').fill('15');
      await field(page, 'attributes').fill('{"colour": "white", "watts": 6}');
      await page.getByTestId('product-create').click();
    };
    await fill('19.999');
    await expect(page.getByTestId('product-error').textContent()).resolves.toMatch(/EUR has 2 decimal/);
    await fill('19.99');
    await page.waitForURL((url) => url.pathname === '/catalog/E2E-LAMP');
    await expect(page.getByTestId('product-price').textContent()).resolves.toBe('€19.99');
    await expect(page.getByTestId('product-history').locator('tbody tr').count()).resolves.toBe(1);
    await expect(page.getByTestId('product-history').locator('tbody td').nth(3).textContent()).resolves.toBe(
      `Administrator (${e2eAdmin.email})`,
    );
  });

  it('edits it; an edit from a page another tab overtook is refused and says why', async () => {
    const other = await page.context().newPage();
    await other.goto(`${e2e.url}/catalog/E2E-LAMP`);
    await field(page, 'name').fill('Desk lamp, dimmable');
    await page.getByTestId('product-save').click();
    await page.waitForLoadState('load');
    await expect(page.locator('#product').getAttribute('data-version')).resolves.toBe('2');
    await expect(page.locator('h1').textContent()).resolves.toMatch(/dimmable/);
    await field(other, 'price').fill('24.50');
    await other.getByTestId('product-save').click();
    await other.waitForLoadState('load');
    await expect(other.getByTestId('product-error').textContent()).resolves.toMatch(/version 2, not 1/);
    await screenshot(other, 'catalog-stale-edit');
    await other.close();
    await page.reload();
    await expect(page.getByTestId('product-price').textContent()).resolves.toBe('€19.99');
    await expect(page.getByTestId('product-history').locator('tbody tr').count()).resolves.toBe(2);
    await screenshot(page, 'catalog-product');
  });

  it('finds it by search and category, and archives it', async () => {
    await page.goto(`${e2e.url}/catalog?q=warm+lamp`);
    await expect(page.locator('[data-testid="catalog-list"] tbody tr').count()).resolves.toBe(1);
    await page.goto(`${e2e.url}/catalog?category=lighting`);
    await expect(page.locator('tr[data-sku="E2E-LAMP"]').count()).resolves.toBe(1);
    await page.goto(`${e2e.url}/catalog/E2E-LAMP`);
    await page.getByTestId('product-archive').click();
    await page.waitForLoadState('load');
    await expect(page.locator('h1 .pill').textContent()).resolves.toBe('archived');
    await page.goto(`${e2e.url}/catalog`);
    await expect(page.locator('tr[data-sku="E2E-LAMP"]').count()).resolves.toBe(0);
    await page.goto(`${e2e.url}/catalog?status=archived`);
    await expect(page.locator('tr[data-sku="E2E-LAMP"]').count()).resolves.toBe(1);
    await screenshot(page, 'catalog-archived');
  });
});
