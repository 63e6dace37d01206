import { type CloudHandle, startCloud } from '@bitv/cloud';
import { type Cache, openCache } from '@bitv/shared/cache';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { redisUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { FaultProxy } from '@bitv/shared/testing/fault-proxy';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { heal, until } from './chaos-harness.js';

const available = await serverAvailable('redis');

/**
 * The dependencies page in Chromium on a real cloud whose cache is a real Redis behind the fault
 * proxy: the cloud's `redis:cloud` breaker is listed closed, a black hole opens it (the page says
 * open, with the reads it refused), and after the heal it is closed again.
 */
describe.skipIf(!available)('end to end: the dependencies page follows a Redis breaker', () => {
  let database: Database;
  let eventLog: EventLog;
  let cloud: CloudHandle;
  let browser: Browser;
  let proxy: FaultProxy;
  let cache: Cache;

  beforeAll(async () => {
    const target = new URL(redisUrl());
    proxy = await FaultProxy.start({ upstream: `${target.hostname}:${target.port || 6379}`, name: 'redis' });
    database = await openDatabase();
    const registry = createRegistry();
    // the cloud's cache, opened here so the test can drive reads through it
    cache = await openCache({
      redisUrl: `redis://${proxy.address}`,
      logger: silentLogger,
      metrics: registry,
      name: 'cloud',
      prefix: `${uniqueName('bve2e')}:`,
      timeoutMs: 100,
    });
    eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
    cloud = await startCloud(
      { port: 0, grpcPort: -1, admin: { email: e2eAdmin.email, password: e2eAdmin.password } },
      { database, eventLog, logger: silentLogger, registry, cache },
    );
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cloud?.close();
    await cache?.close();
    await eventLog?.close();
    await database?.close();
    await proxy?.close();
  }, 60_000);

  const stateOn = async (page: Page) => {
    await page.goto(`${cloud.url}/ops/dependencies`);
    return page.locator('[data-dependency="redis:cloud"]').getAttribute('data-state');
  };

  it('lists the Redis breaker closed, open during a black hole, closed after the heal', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${cloud.url}/login`);
    await fillLogin(page, e2eAdmin.email, e2eAdmin.password);
    await page.waitForURL((url) => url.pathname !== '/login');
    await page.goto(`${cloud.url}/ops/dependencies`);
    await expect.poll(() => page.getByRole('heading', { name: 'Dependencies' }).count()).toBe(1);
    expect(await page.getByTestId('nav-dependencies').count()).toBe(1);
    await cache.set('k', 'v', 60_000);
    expect(await stateOn(page)).toBe('closed');

    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 500 } });
    let open = false;
    for (let i = 0; i < 40 && !open; i++) {
      await cache.get('k');
      open = (await stateOn(page)) === 'open';
    }
    expect(open).toBe(true);
    await cache.get('k'); // refused at once by the open breaker
    await page.reload();
    const row = page.locator('[data-dependency="redis:cloud"]');
    expect(Number(await row.getByTestId('dependency-rejected_open').textContent())).toBeGreaterThan(0);
    await screenshot(page, 'e2e-dependencies-open', false);

    await heal(proxy, 'timeout_upstream');
    expect(await until(async () => (await cache.get('k')) === 'v', 100, 100)).toBe(true);
    expect(await stateOn(page)).toBe('closed');
    await screenshot(page, 'e2e-dependencies-closed', false);
    await page.close();
  }, 90_000);

  it('is for admins only: a visitor without a session is sent to the login page', async () => {
    const page = await browser.newPage();
    await page.goto(`${cloud.url}/ops/dependencies`);
    await page.waitForURL((url) => url.pathname === '/login');
    await page.close();
  }, 30_000);
});
