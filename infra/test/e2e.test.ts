import { tempDir } from '@bitv/shared/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

type PlatformShelf = RunningPlatform['info']['shelves'][number];

const { email: adminEmail, password: adminPassword } = e2eAdmin;

describe('end to end: simulated shelf -> edge agent -> gateway -> cloud -> dashboard', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let removeRunDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir('bv-e2e-');
    removeRunDir = dir.remove;
    platform = await startPlatformProcess(dir.path, {
      BV_ADMIN_EMAIL: adminEmail,
      BV_ADMIN_PASSWORD: adminPassword,
      BV_DEMO_SHELVES: '2',
      BV_DEMO_BINS: '4',
    });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  /** A logged-in page on the demo site's warehouse view. */
  async function warehousePage(): Promise<Page> {
    const { info } = platform;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${info.dashboardUrl}/login`);
    await fillLogin(page, adminEmail, adminPassword);
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    if (!page.url().includes('/sites/')) await page.goto(`${info.dashboardUrl}/sites/demo-site`);
    return page;
  }

  /** Injects a fault on the simulator's control API (as a technician pulling a cable would). */
  async function fault(serialNumber: string, body: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${platform.info.simControlUrl}/shelves/${serialNumber}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.ok, `fault ${JSON.stringify(body)} accepted`).toBe(true);
  }

  it('shows a pick of 3 items at the shelf as a count 3 lower on the dashboard', async () => {
    const { info } = platform;
    expect([info.database, info.eventLog], 'npm start runs on its embedded defaults').toEqual([
      'pglite',
      'database',
    ]);
    const shelf = info.shelves[0]!;
    const bin = 1;
    const page = await warehousePage();

    const count = page.getByTestId(`bin-count-${shelf.deviceId}-${bin}`);
    const tile = page.getByTestId(`bin-${shelf.deviceId}-${bin}`);
    // The cloud aligns the seeded count with the shelf's first stable weight; a pick before that
    // would be taken as the starting stock. The tile says when its count has been weighed.
    await expect
      .poll(
        async () => {
          await page.reload();
          return tile.getAttribute('data-weighed');
        },
        { timeout: 45_000, interval: 500 },
      )
      .toBe('true');
    const before = Number.parseInt((await count.textContent()) ?? '', 10);
    expect(before).toBeGreaterThanOrEqual(3);

    const response = await fetch(`${info.simControlUrl}/shelves/${shelf.serialNumber}/bins/${bin}/pick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 3 }),
    });
    expect(response.ok).toBe(true);

    await expect
      .poll(async () => Number.parseInt((await count.textContent()) ?? '', 10), { timeout: 15_000 })
      .toBe(before - 3);
    await screenshot(page, 'e2e-dashboard');
  }, 90_000);

  it('shows a dead load cell and an unplugged shelf on the page, live, with alerts, until they are fixed', async () => {
    const [unplugged, faulty] = platform.info.shelves as [PlatformShelf, PlatformShelf];
    const deadBin = 2;
    const page = await warehousePage();
    const tile = (shelfId: string, bin: number) => page.getByTestId(`bin-${shelfId}-${bin}`);
    const alerts = (kind: string) => page.locator(`[data-testid="alert"][data-kind="${kind}"]`);
    // Every bin current before the faults (the first test waited for the weights).
    await expect.poll(async () => page.locator('.bin.stale').count(), { timeout: 15_000 }).toBe(0);

    // A dead cell: its tile says so live (no reload), with a greyed count and when it was last weighed.
    await fault(faulty.serialNumber, { kind: 'dead_cell', bin: deadBin, dead: true });
    await expect
      .poll(() => tile(faulty.deviceId, deadBin).getAttribute('data-health'), { timeout: 15_000 })
      .toBe('cell_fault');
    expect(await page.getByTestId(`bin-health-${faulty.deviceId}-${deadBin}`).textContent()).toBe(
      'cell fault',
    );
    expect(await page.getByTestId(`bin-weight-${faulty.deviceId}-${deadBin}`).textContent()).toMatch(
      /^last weighed \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
    );
    await expect.poll(() => alerts('cell_fault').count(), { timeout: 10_000 }).toBe(1);
    expect(await alerts('cell_fault').textContent()).toContain(`${faulty.deviceId} · bin ${deadBin}`);
    await screenshot(page, 'e2e-cell-fault');

    // An unplugged shelf: every bin of it offline, one alert per stocked bin.
    await fault(unplugged.serialNumber, { kind: 'unplug' });
    await expect
      .poll(
        async () =>
          page.locator(`[data-testid^="bin-${unplugged.deviceId}-"][data-health="shelf_offline"]`).count(),
        { timeout: 20_000 },
      )
      .toBe(unplugged.bins);
    await expect.poll(() => alerts('shelf_offline').count(), { timeout: 10_000 }).toBe(unplugged.bins);
    expect(await page.locator(`#shelf-dot-${unplugged.deviceId}`).getAttribute('class')).toContain('off');
    expect(await page.getByTestId('shelves-online').textContent()).toBe('1/2');
    // A reload shows the same (it is the database's state, not only the live messages').
    await page.reload();
    expect(await tile(unplugged.deviceId, 0).getAttribute('data-health')).toBe('shelf_offline');
    expect(await page.getByTestId(`bin-health-${unplugged.deviceId}-0`).textContent()).toBe('shelf offline');
    expect(await tile(faulty.deviceId, deadBin).getAttribute('data-health')).toBe('cell_fault');
    expect(await page.getByTestId('stale-bins').textContent()).toBe(String(unplugged.bins + 1));
    await screenshot(page, 'e2e-shelf-offline');

    // Fixed: the shelf plugged back in, the cell working again; the page and the alerts clear live.
    await fault(unplugged.serialNumber, { kind: 'replug' });
    await fault(faulty.serialNumber, { kind: 'dead_cell', bin: deadBin, dead: false });
    await expect.poll(async () => page.locator('.bin.stale').count(), { timeout: 30_000 }).toBe(0);
    await expect
      .poll(async () => (await alerts('shelf_offline').count()) + (await alerts('cell_fault').count()), {
        timeout: 10_000,
      })
      .toBe(0);
    await screenshot(page, 'e2e-hardware-fixed');
  }, 120_000);
});
