import { eventually } from '@bitv/shared/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type GatewayRig, startGatewayRig } from './gateway-rig.js';

/**
 * A gateway's page in Chromium, on the real path (agent process, simulated shelf, our gateway, the
 * cloud with every module): reached from the fleet page; health charts drawn from the readings that
 * arrive; the shelf; the shadow edited on the page and applied on the simulated shelf, followed live
 * to "in sync"; the shadow command among the gateway's commands.
 */
describe('end to end: the gateway page', () => {
  let rig: GatewayRig;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    rig = await startGatewayRig('bv-e2e-gwpage-');
    rig.agent.start();
    await eventually(
      async () =>
        (await rig.cloud.services.registry.getGateway(rig.gatewayId)).online &&
        (await rig.cloud.services.registry.listShelves({ gatewayId: rig.gatewayId })).length > 0,
      'the gateway and its shelf online',
      90_000,
      200,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${rig.agent.output()}`);
    });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1100 } })).newPage();
    await page.goto(`${rig.cloud.url}/login?next=/fleet`);
    await fillLogin(page, e2eAdmin.email, e2eAdmin.password);
    await page.waitForURL((url) => url.pathname === '/fleet');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  }, 60_000);

  it('shows health, the shelf, and a shadow edited on the page applied on the shelf', {
    timeout: 240_000,
  }, async () => {
    await page.getByTestId(`gateway-link-${rig.gatewayId}`).click();
    await page.waitForURL((url) => url.pathname === `/gateways/${rig.gatewayId}`);
    await expect.poll(() => page.getByTestId('gateway-online').textContent()).toBe('online');
    expect(await page.getByTestId(`gw-shelf-${rig.shelfId}`).count()).toBe(1);
    // Readings arrived this minute: the rate chart has a point (reload to redraw the server's chart).
    await expect
      .poll(
        async () => {
          await page.reload();
          return Number(await page.getByTestId('chart-rate').getAttribute('data-points'));
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await expect.poll(() => page.locator('body').getAttribute('data-live'), { timeout: 30_000 }).toBe('on');

    // The shadow: a sample rate for the shelf, from the form.
    await page.getByTestId('shadow-shelf').selectOption(rig.shelfId);
    await page.getByTestId('shadow-rate').fill('4');
    await page.getByTestId('shadow-save').click();
    await expect.poll(() => page.getByTestId('shadow-msg').textContent()).toContain('saved as version 1');
    await expect
      .poll(() => page.getByTestId('shadow-sync').textContent(), { timeout: 60_000 })
      .toBe('in sync');
    expect(rig.shelf.snapshot().sampleRateMilliHz).toBe(4_000);
    expect(JSON.parse((await page.getByTestId('shadow-reported').textContent()) ?? '{}')).toEqual({
      shelves: { [rig.shelfId]: { sampleRateHz: 4 } },
    });

    // A tare of bin 0 is a generation in the shadow: applied once, then reported.
    await page.getByTestId('shadow-tare-bin').fill('0');
    await page.getByTestId('shadow-tare').click();
    await expect.poll(() => page.getByTestId('shadow-msg').textContent()).toContain('saved as version 2');
    await expect
      .poll(() => page.getByTestId('shadow-sync').textContent(), { timeout: 60_000 })
      .toBe('in sync');
    expect(JSON.parse((await page.getByTestId('shadow-reported').textContent()) ?? '{}')).toEqual({
      shelves: { [rig.shelfId]: { sampleRateHz: 4, tare: { '0': 1 } } },
    });

    // A stale version is refused with the reason, not applied over someone else's change.
    await page.locator('#shadow-form').evaluate((form) => form.setAttribute('data-version', '1'));
    await page.getByTestId('shadow-rate').fill('6');
    await page.getByTestId('shadow-save').click();
    await expect.poll(() => page.getByTestId('shadow-msg').textContent()).toContain('not 1');
    expect(rig.shelf.snapshot().sampleRateMilliHz).toBe(4_000);

    await page.reload();
    expect(
      await page.locator('[data-testid="gw-command"][data-action="shadow"]').count(),
    ).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('gateway-rollouts').count()).toBe(1);
    await screenshot(page, 'e2e-gateway-page');
  });
});
