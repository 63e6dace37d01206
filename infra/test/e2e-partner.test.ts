import { type CloudHandle, startCloud } from '@bitv/cloud';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';

const { email: adminEmail, password: adminPassword } = e2eAdmin;
const partnerEmail = 'partner@e2e.local';
const partnerPassword = 'partner-password-1234';

async function post(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  expect(res.ok, `${url}: ${res.status}`).toBe(true);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * A partner in a real browser against a real cloud over HTTP (no shelves needed): after login they
 * land on their API page, create a key that works, see the reservation made with it, revoke the
 * key; an unknown address shows the dashboard's 404 page; too many wrong passwords show on the
 * login page.
 */
describe('end to end: the partner API page and the error pages in a browser', () => {
  let database: Database;
  let eventLog: EventLog;
  let cloud: CloudHandle;
  let browser: Browser;

  beforeAll(async () => {
    database = await openDatabase();
    const registry = createRegistry();
    eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
    cloud = await startCloud(
      { port: 0, grpcPort: -1, admin: { email: adminEmail, password: adminPassword } },
      { database, eventLog, logger: silentLogger, registry },
    );
    // The partner is invited by the admin and registers, as a real one would.
    const admin = await post(`${cloud.url}/api/v1/auth/login`, {
      email: adminEmail,
      password: adminPassword,
    });
    const invited = await post(
      `${cloud.url}/api/v1/users/invitations`,
      { email: partnerEmail, name: 'Shop partner', role: 'partner' },
      admin.accessToken as string,
    );
    await post(`${cloud.url}/api/v1/auth/register`, {
      inviteToken: invited.inviteToken,
      password: partnerPassword,
    });
    // Stock to reserve (registered bins with counts; no shelf needs to run for this page).
    await cloud.seedDemo({
      shelves: [{ serialNumber: 'P1', bins: [{ sku: 'WIDGET', unitWeightG: 40, count: 12, toleranceG: 4 }] }],
    });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cloud?.close();
    await eventLog?.close();
    await database?.close();
  }, 60_000);

  it('lands a partner on the API page: key created, used, revoked; the reference rendered', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${cloud.url}/login`);
    await fillLogin(page, partnerEmail, partnerPassword);
    await page.waitForURL((url) => url.pathname === '/partner');
    await expect.poll(() => page.getByRole('heading', { name: 'API access' }).count()).toBe(1);
    expect(await page.getByTestId('nav-api').count()).toBe(1);
    // The reference: every operation of the OpenAPI document, rendered by the page itself.
    const doc = (await (await fetch(`${cloud.url}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(await page.getByTestId('api-operation').count()).toBe(operations);

    await page.locator('#key-name').fill('shop backend');
    await page.getByTestId('api-key-create').click();
    const key = (await page.getByTestId('api-key-secret').textContent())?.trim() ?? '';
    expect(key).toMatch(/^bvk_/);
    const products = await fetch(`${cloud.url}/api/v1/products`, { headers: { 'x-api-key': key } });
    expect(products.status).toBe(200);
    // A reservation made with the key is the partner's: it shows on their page.
    const reserved = await fetch(`${cloud.url}/api/v1/reservations`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'WIDGET', quantity: 3, reference: 'shop-order-17' }),
    });
    expect(reserved.status).toBe(201);
    const reservation = (await reserved.json()) as { id: string };
    await page.goto(`${cloud.url}/partner`); // not a reload: that would post the key form again
    const row = page.locator(`[data-reservation-id="${reservation.id}"]`);
    expect(await row.textContent()).toContain('shop-order-17');
    await screenshot(page, 'e2e-partner', false);

    await page.getByTestId('api-key-revoke').click();
    await page.waitForURL((url) => url.pathname === '/partner');
    expect(await page.getByTestId('api-key-revoke').count()).toBe(0);
    expect(await page.getByTestId('api-key-row').textContent()).toContain('revoked');
    const refused = await fetch(`${cloud.url}/api/v1/products`, { headers: { 'x-api-key': key } });
    expect(refused.status).toBe(401);
    await page.close();
  }, 90_000);

  it('shows an unknown address as the dashboard’s 404 page, with a way back', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const response = await page.goto(`${cloud.url}/no/such/page`);
    expect(response?.status()).toBe(404);
    await expect.poll(() => page.getByTestId('error-page').count()).toBe(1);
    expect(await page.getByTestId('error-status').textContent()).toContain('404');
    await screenshot(page, 'e2e-not-found', false);
    await page.getByTestId('error-home').click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.close();
  }, 60_000);

  it('says on the login page when logins are throttled', async () => {
    const page = await browser.newPage();
    for (let i = 0; i < 6; i++) {
      await page.goto(`${cloud.url}/login`);
      await fillLogin(page, partnerEmail, `wrong-password-${i}`);
      await page.waitForLoadState();
    }
    expect(await page.getByTestId('login-throttled').textContent()).toMatch(/Try again in \d+ s/);
    await page.close();
  }, 60_000);
});
