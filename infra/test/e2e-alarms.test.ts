import { eventually } from '@bitv/shared/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type GatewayRig, startGatewayRig } from './gateway-rig.js';

/**
 * Issue #17, must show: a gateway stopped for longer than its limit raises one alarm, which clears
 * on its return. The real agent is SIGKILLed (the broker sends its will, the NDEATH) and started
 * again; the alarm list in Chromium follows it live, and the gateway's page lists it.
 */
describe('end to end: a stopped gateway raises one alarm, cleared on its return', () => {
  let rig: GatewayRig;
  let browser: Browser;
  let page: Page;
  const limitMs = 4_000;

  beforeAll(async () => {
    rig = await startGatewayRig('bv-e2e-alarms-');
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(`${rig.cloud.url}/login?next=/alarms`);
    await fillLogin(page, e2eAdmin.email, e2eAdmin.password);
    await page.waitForURL((url) => url.pathname === '/alarms');
    // The site's own limit, through the API the page's session may call.
    const put = await page.evaluate(
      async (ms) =>
        (
          await fetch('/api/v1/sites/demo-site/alarm-settings', {
            method: 'PUT',
            credentials: 'same-origin',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ gatewayOfflineAfterMs: ms }),
          })
        ).status,
      limitMs,
    );
    expect(put).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  }, 60_000);

  it('raises gateway_offline once after the limit and clears it when the agent is back', {
    timeout: 240_000,
  }, async () => {
    rig.agent.start();
    const gatewayState = async () => (await rig.cloud.services.registry.getGateway(rig.gatewayId)).online;
    await eventually(gatewayState, 'the gateway online', 60_000, 200).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${rig.agent.output()}`);
    });
    await page.reload();
    await expect.poll(() => page.locator('body').getAttribute('data-live'), { timeout: 30_000 }).toBe('on');
    const rows = page.locator(
      `tr[data-testid="alarm"][data-kind="gateway_offline"][data-gateway="${rig.gatewayId}"]`,
    );
    expect(await rows.count()).toBe(0);

    await rig.agent.kill();
    // Live: the row appears without a reload, active, once.
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => rows.first().getAttribute('data-state')).toBe('active');
    // Several rule runs later it is still one alarm: seen again (occurrences), never raised again.
    const openAlarms = async () =>
      (
        (await page.evaluate(
          async (id) =>
            (
              await fetch(`/api/v1/alarms?gatewayId=${id}&kind=gateway_offline`, {
                credentials: 'same-origin',
              })
            ).json(),
          rig.gatewayId,
        )) as { alarms: { state: string; occurrences: number }[] }
      ).alarms;
    await expect
      .poll(async () => (await openAlarms())[0]?.occurrences ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(2);
    expect((await openAlarms()).length).toBe(1);
    expect(await rows.count()).toBe(1);
    await screenshot(page, 'e2e-alarms-raised');

    // The gateway's page lists it among its alarms.
    const gw = await browser.newPage();
    await gw.context().addCookies(await page.context().cookies());
    await gw.goto(`${rig.cloud.url}/gateways/${rig.gatewayId}`);
    expect(await gw.getByTestId('gateway-online').textContent()).toBe('offline');
    expect(await gw.locator('[data-testid="gateway-alarms"] tr[data-kind="gateway_offline"]').count()).toBe(
      1,
    );
    await gw.close();

    rig.agent.start();
    await expect.poll(() => rows.first().getAttribute('data-state'), { timeout: 90_000 }).toBe('cleared');
    expect((await openAlarms()).map((a) => a.state)).toEqual(['cleared']);
    await screenshot(page, 'e2e-alarms-cleared');
  });
});
