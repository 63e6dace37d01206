import { eventually } from '@bitv/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import {
  type LayoutBin as Bin,
  type E2ePlatform,
  e2eSite as site,
  startE2ePlatform,
} from './e2e-platform.js';

interface Pick {
  pickId: string;
  orderId: string;
  status: string;
  lines: { sku: string; quantity: number; shelfId: string | null; bin: number | null; status: string }[];
  misPicks: { shelfId: string; bin: number }[];
}

/**
 * Pick-to-light end to end, as `npm start` runs it (no demo shopper, a picker that makes no
 * random mistakes): an order placed through the API becomes a pick list, the simulator's picker
 * follows the lights until the order is picked, and the pick station and the warehouse page show
 * it (the list picked, the counts lower). The picker's first pick is scripted to go to the
 * neighbouring bin (`BV_DEMO_PICKER_WRONG_PICKS=1`), and it leaves the red bin alone for a while
 * before putting the units back, so the mis-pick alert can be seen on the station page.
 */
describe('end to end: an order is picked by the simulated picker following the lights', () => {
  let e2e: E2ePlatform;
  let page: Page;
  const api = <T>(path: string, init: RequestInit = {}) => e2e.api<T>(path, init);
  const bins = () => e2e.bins();
  const order = (lines: { sku: string; quantity: number }[]) =>
    api<{ orderId: string }>('/api/v1/orders', {
      method: 'POST',
      headers: { 'idempotency-key': `e2e-${Date.now()}-${Math.random()}` },
      body: JSON.stringify({ siteId: site, customerId: 'e2e-shopper', lines }),
    });
  const pickOf = async (orderId: string) =>
    (await api<{ picks: Pick[] }>(`/api/v1/picks?siteId=${site}`)).picks.find((p) => p.orderId === orderId);

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-pick-',
      env: {
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '4',
        BV_DEMO_SHOPPER: 'false',
        BV_DEMO_PICKER_ERROR_RATE: '0',
        BV_DEMO_PICKER_WRONG_PICKS: '1',
        BV_DEMO_PICKER_PUT_BACK_MS: '15000',
      },
      landOn: `/sites/${site}/pick`,
      // Orders need the counts from weight.
      waitWeighed: true,
    });
    page = e2e.page;
  }, 420_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('a seeded mis-pick raises the alert on the pick station page; the units go back and the order is picked', async () => {
    const before = await bins();
    const neighbourOf = (x: Bin) => (x.bin + 1 < 4 ? x.bin + 1 : x.bin - 1);
    const a = before.find(
      (x) =>
        x.sku !== null &&
        x.count >= 2 &&
        before.some((y) => y.shelfId === x.shelfId && y.bin === neighbourOf(x) && y.count >= 1),
    ) as Bin;
    const wrong = before.find((y) => y.shelfId === a.shelfId && y.bin === neighbourOf(a)) as Bin;
    const { orderId } = await order([{ sku: a.sku as string, quantity: 1 }]);
    // The picker's first pick takes from the neighbouring bin: the alert shows live on the station.
    const alert = page.getByTestId('mis-pick');
    await alert.first().waitFor({ state: 'visible', timeout: 120_000 });
    expect(await alert.first().textContent()).toContain(`bin ${wrong.bin}`);
    await screenshot(page, 'e2e-pick-station-mis-pick');
    const open = await pickOf(orderId);
    expect(open?.misPicks).toEqual([expect.objectContaining({ shelfId: wrong.shelfId, bin: wrong.bin })]);
    // The picker puts the units back (the alert clears) and then picks the lit bin.
    await eventually(
      async () => {
        const p = await pickOf(orderId);
        return p?.status === 'picked' && p.misPicks.length === 0;
      },
      'the order picked and the mis-pick resolved',
      120_000,
      500,
    );
    await alert.first().waitFor({ state: 'detached', timeout: 30_000 });
    const countOf = (list: Bin[], x: Bin) =>
      list.find((y) => y.shelfId === x.shelfId && y.bin === x.bin)?.count;
    await eventually(
      async () => {
        const after = await bins();
        return countOf(after, a) === a.count - 1 && countOf(after, wrong) === wrong.count;
      },
      'the picked bin one lower, the wrong bin back where it was',
      60_000,
      500,
    );
  }, 300_000);

  it('an order placed through the API is picked by weight, and the warehouse page shows the counts lower', async () => {
    const before = await bins();
    const [a, b] = before.filter((x) => x.sku !== null && x.count >= 3) as [Bin, Bin];
    const { orderId } = await order([
      { sku: a.sku as string, quantity: 2 },
      { sku: b.sku as string, quantity: 1 },
    ]);
    await eventually(
      async () => (await pickOf(orderId))?.status === 'picked',
      'the order picked',
      120_000,
      500,
    );
    await page.goto(`${e2e.url}/sites/${site}/pick`);
    expect(
      await page.getByTestId('picks-recent').locator(`tr[data-order="${orderId}"]`).textContent(),
    ).toContain('picked');
    await screenshot(page, 'e2e-pick-station-picked');
    const after = await bins();
    const countOf = (list: Bin[], x: Bin) =>
      list.find((y) => y.shelfId === x.shelfId && y.bin === x.bin)?.count;
    expect(countOf(after, a)).toBe(a.count - 2);
    expect(countOf(after, b)).toBe(b.count - 1);
    await page.goto(`${e2e.url}/sites/${site}`);
    expect(await page.getByTestId(`bin-count-${a.shelfId}-${a.bin}`).textContent()).toContain(
      String(a.count - 2),
    );
    expect(await page.getByTestId(`bin-count-${b.shelfId}-${b.bin}`).textContent()).toContain(
      String(b.count - 1),
    );
    await screenshot(page, 'e2e-pick-warehouse-lower');
  }, 180_000);
});
