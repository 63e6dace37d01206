import { eventually } from '@bitv/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { type E2ePlatform, startE2ePlatform } from './e2e-platform.js';

/** What the fleet page shows for a time, whatever the browser's zone (issue #12, defect 6). */
const utcTime = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

interface ShelfState {
  bins: { bin: number; led: { color: number; blink: string } }[];
}

/**
 * The fleet page end to end, in a browser whose zone and locale are far from UTC: a shelf command
 * from the page reaches the simulated shelf, a bin is lit and turned off again from the page, and
 * the page's times stay in its stated zone after live updates.
 */
describe('end to end: the fleet page sends commands down to a simulated shelf', () => {
  let e2e: E2ePlatform;
  let page: Page;
  let gateway: string;

  beforeAll(async () => {
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-fleet-',
      env: { BV_DEMO_SHELVES: '1', BV_DEMO_BINS: '4' },
      landOn: '/fleet',
      // UTC+14 and a German locale: a time formatted by the browser's defaults cannot pass for UTC.
      context: { timezoneId: 'Pacific/Kiritimati', locale: 'de-DE' },
    });
    page = e2e.page;
    gateway = (await page.locator('form[data-command]').first().getAttribute('data-command')) ?? '';
    expect(gateway).not.toBe('');
    // Commands need the agent connected: wait for the page to show its gateway online.
    await eventually(
      async () => {
        await page.reload();
        return (await page.getByTestId(`gateway-state-${gateway}`).textContent()) === 'online';
      },
      'the gateway online on the fleet page',
      60_000,
      500,
    );
  }, 300_000);

  afterAll(async () => {
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  const shelfState = async (serial: string): Promise<ShelfState> => {
    const res = await fetch(`${e2e.platform.info.simControlUrl}/shelves/${serial}`);
    expect(res.ok).toBe(true);
    return (await res.json()) as ShelfState;
  };

  /** Fills the gateway's command form, sends it, and returns the command the API accepted. */
  const sendFromPage = async (action: string, deviceId: string, bin = '') => {
    await page.getByTestId(`command-action-${gateway}`).selectOption(action);
    await page.getByTestId(`command-device-${gateway}`).selectOption(deviceId);
    await page.getByTestId(`command-bin-${gateway}`).fill(bin);
    const [response] = await Promise.all([
      page.waitForResponse(
        (r) => r.request().method() === 'POST' && r.url().endsWith(`/gateways/${gateway}/commands`),
      ),
      page.getByTestId(`command-send-${gateway}`).click(),
    ]);
    expect(response.status()).toBe(202);
    return (await response.json()) as { id: string };
  };

  /** Waits for the command's row on the page to turn done (a live update), then checks its times. */
  const doneOnPage = async (id: string) => {
    const row = page.locator(`#cmd-${id}`);
    await expect.poll(() => row.locator('.pill').textContent(), { timeout: 30_000 }).toBe('done');
    expect(await row.locator('[data-requested]').textContent()).toMatch(utcTime);
    expect(await row.locator('[data-finished]').textContent()).toMatch(utcTime);
    return row;
  };

  it('refuses a shelf command without a shelf, and an empty bin, in the page', async () => {
    const shelf = e2e.platform.info.shelves[0]!;
    const out = page.getByTestId(`command-out-${gateway}`);
    const rows = await page.locator('#commands tr[id^="cmd-"]').count();
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });
    await page.getByTestId(`command-action-${gateway}`).selectOption('identify');
    await page.getByTestId(`command-device-${gateway}`).selectOption({ index: 0 });
    await page.getByTestId(`command-send-${gateway}`).click();
    await expect.poll(() => out.textContent()).toBe('choose a shelf: identify is a shelf command');
    await page.getByTestId(`command-action-${gateway}`).selectOption('set_led');
    await page.getByTestId(`command-device-${gateway}`).selectOption(shelf.deviceId);
    await page.getByTestId(`command-bin-${gateway}`).fill('');
    await page.getByTestId(`command-send-${gateway}`).click();
    await expect.poll(() => out.textContent()).toBe(`enter a bin number (0 to ${shelf.bins - 1})`);
    await page.getByTestId(`command-bin-${gateway}`).fill(String(shelf.bins));
    await page.getByTestId(`command-send-${gateway}`).click();
    await expect
      .poll(() => out.textContent())
      .toBe(`shelf ${shelf.deviceId} has bins 0 to ${shelf.bins - 1}`);
    expect(posts, 'nothing was sent').toEqual([]);
    expect(await page.locator('#commands tr[id^="cmd-"]').count()).toBe(rows);
    expect(
      (await shelfState(shelf.serialNumber)).bins.every((b) => b.led.blink === 'off'),
      'no light came on',
    ).toBe(true);
  }, 60_000);

  it('identifies a shelf from the page: the shelf acknowledges it', async () => {
    const shelf = e2e.platform.info.shelves[0]!;
    const command = await sendFromPage('identify', shelf.deviceId);
    const row = await doneOnPage(command.id);
    expect(await row.textContent()).toContain(`identify → ${shelf.deviceId}`);
  }, 60_000);

  it('lights a bin from the page and turns it off again', async () => {
    const shelf = e2e.platform.info.shelves[0]!;
    const bin = 2;
    const lit = await sendFromPage('set_led', shelf.deviceId, String(bin));
    await doneOnPage(lit.id);
    expect((await shelfState(shelf.serialNumber)).bins[bin]?.led.blink).toBe('steady');
    await screenshot(page, 'e2e-fleet-lit');

    const off = await sendFromPage('led_off', shelf.deviceId, String(bin));
    const row = await doneOnPage(off.id);
    expect(await row.textContent()).toContain(`light off bin ${bin} → ${shelf.deviceId}`);
    expect((await shelfState(shelf.serialNumber)).bins[bin]?.led.blink).toBe('off');
    await screenshot(page, 'e2e-fleet-off');
  }, 90_000);

  it('keeps "last seen" in UTC after a live update', async () => {
    const seen = page.locator(`#gw-${gateway} [data-seen]`);
    expect(await seen.textContent(), 'server-rendered').toMatch(utcTime);
    // Mark the cell, then make the gateway announce itself again (rebirth: a new NBIRTH); the
    // live update rewrites the cell.
    await seen.evaluate((el) => {
      el.textContent = 'waiting for a live update';
    });
    await page.getByTestId(`command-action-${gateway}`).selectOption('rebirth');
    await page.getByTestId(`command-device-${gateway}`).selectOption({ index: 0 });
    await page.getByTestId(`command-send-${gateway}`).click();
    await expect.poll(() => seen.textContent(), { timeout: 30_000 }).not.toBe('waiting for a live update');
    expect(await seen.textContent()).toMatch(utcTime);
    await screenshot(page, 'e2e-fleet');
  }, 60_000);
});
