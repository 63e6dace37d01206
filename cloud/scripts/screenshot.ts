/**
 * Renders the dashboard with a demo site in Debian's Chromium and saves screenshots of the
 * warehouse and fleet pages: `npx tsx cloud/scripts/screenshot.ts [outDir]` (default: a temp dir).
 * Also checks the page follows a pick live: the count drops without a reload.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { createEvent, deviceStateV1, platformEvents, telemetryReadingsV1, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { chromium } from 'playwright-core';
import { startCloud } from '../src/index.js';

async function main(): Promise<void> {
  const out = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'bv-dashboard-')));
  const database = await openDatabase();
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    { port: 0, grpcPort: -1, admin: { email: 'admin@demo.local', password: 'demo-password' } },
    { database, eventLog, logger: silentLogger, registry },
  );
  const names = [
    'M6 hex bolts',
    'Cable ties 200 mm',
    'Wood screws 4x40',
    'Washers M8',
    'Wall plugs 6 mm',
    'Hinges 75 mm',
  ];
  await cloud.seedDemo({
    shelves: ['SIM0001', 'SIM0002'].map((serialNumber, s) => ({
      serialNumber,
      bins: names.map((name, i) => ({
        name,
        sku: `SKU-${s}${i}`,
        unitWeightG: 20 + i * 15,
        count: 4 + ((i * 7 + s * 5) % 23),
        lowStockThreshold: 5,
      })),
    })),
  });
  const gw = 'gw-demo-1';
  const state = (data: Parameters<typeof deviceStateV1.schema.parse>[0]) =>
    eventLog.publish(topics.deviceState, createEvent(deviceStateV1, { source: '/demo', key: gw, data }));
  await cloud.services.provisioning.provision({
    claimToken: await cloud.createClaimToken({ siteId: 'demo-site', gatewayId: gw }),
  });
  await state({
    groupId: 'demo-site',
    edgeNodeId: gw,
    kind: 'NBIRTH',
    online: true,
    bdSeq: 0,
    queueDepth: 3,
    firmware: '0.1.0',
  });
  for (const serial of ['SIM0001', 'SIM0002']) {
    await state({
      groupId: 'demo-site',
      edgeNodeId: gw,
      deviceId: `shelf-${serial}`,
      kind: 'DBIRTH',
      online: true,
      serialNumber: serial,
      firmware: 'sim-1.0.0',
      binCount: 6,
    });
  }
  const bins = await cloud.services.inventory.binsOfSite('demo-site');
  let seq = 0;
  const readings = async (shelfId: string, weights: (bin: number) => number) => {
    const start = Date.now();
    const batch = Array.from({ length: 4 }, (_, i) => ({
      seq: seq++,
      time: new Date(start + i * 100).toISOString(),
      bins: Array.from({ length: 6 }, (_, bin) => ({ bin, weightG: weights(bin) + Math.random() * 0.2 })),
    }));
    await eventLog.publish(
      topics.telemetry,
      createEvent(telemetryReadingsV1, {
        source: '/demo',
        key: gw,
        data: { groupId: 'demo-site', edgeNodeId: gw, deviceId: shelfId, historical: false, readings: batch },
      }),
    );
  };
  const weightOf = (shelfId: string, bin: number, minus = 0) => {
    const b = bins.find((x) => x.shelfId === shelfId && x.bin === bin);
    return ((b?.count ?? 0) - minus) * (b?.unitWeightG ?? 0) + 800;
  };
  await readings('shelf-SIM0001', (bin) => weightOf('shelf-SIM0001', bin));
  await readings('shelf-SIM0002', (bin) => weightOf('shelf-SIM0002', bin));
  await new Promise((r) => setTimeout(r, 1500));
  await cloud.services.commands.send(gw, {
    command: { action: 'set_led', bin: 2, color: '#facc15', blink: 'steady' },
    deviceId: 'shelf-SIM0001',
    ttlSeconds: 60,
    requestedBy: 'demo',
  });
  const [cmd] = await cloud.services.commands.list(gw, 1);
  if (cmd)
    await cloud.services.commands.applyResult({
      commandId: cmd.id,
      groupId: 'demo-site',
      edgeNodeId: gw,
      deviceId: 'shelf-SIM0001',
      status: 'done',
    });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('console', (m) => process.stderr.write(`console ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`pageerror ${e.message}\n`));
    await page.goto(`${cloud.url}/`);
    await page.getByTestId('login-email').fill('admin@demo.local');
    await page.getByTestId('login-password').fill('demo-password');
    await page.getByTestId('login-submit').click();
    const count = page.getByTestId('bin-count-shelf-SIM0001-0');
    await count.waitFor();
    await page.locator('#live.on').waitFor();
    const before = Number.parseInt((await count.textContent()) ?? '', 10);
    const t0 = Date.now();
    await readings('shelf-SIM0001', (bin) => weightOf('shelf-SIM0001', bin, bin === 0 ? 3 : 0));
    // A string, evaluated in the page (this file is compiled without the DOM library).
    await page.waitForFunction(
      `document.querySelector('[data-testid="bin-count-shelf-SIM0001-0"]')?.textContent?.startsWith('${before - 3}')`,
      undefined,
      { timeout: 10_000 },
    );
    process.stdout.write(
      `live update: ${before} -> ${before - 3} shown ${Date.now() - t0} ms after the readings were published\n`,
    );
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(out, 'warehouse.png'), fullPage: true });
    await page.goto(`${cloud.url}/fleet`);
    await page.getByTestId(`gateway-${gw}`).waitFor();
    // The fleet page's forms call the API with the session cookie: create a claim token, send a command.
    await page.getByTestId('create-claim-tokens').click();
    await page.waitForFunction(
      `document.querySelector('[data-testid="claim-tokens"]')?.textContent?.startsWith('bvc_')`,
    );
    await page.locator(`form[data-command="${gw}"] select[name="action"]`).selectOption('identify');
    await page.locator(`form[data-command="${gw}"] button`).click();
    await page.waitForFunction(`document.querySelectorAll('#commands tr[id^="cmd-"]').length >= 2`);
    await page.screenshot({ path: join(out, 'fleet.png'), fullPage: true });
    process.stdout.write(`screenshots in ${out}\n`);
  } finally {
    await browser.close();
    await cloud.close();
    await eventLog.close();
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
