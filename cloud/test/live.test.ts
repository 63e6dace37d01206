import { topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readingsEvent, startTestCloud, steadyReadings, type TestCloud } from './harness.js';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud('pglite', { admin: { email: 'boss@test.local', password: 'boss-password-1' } });
  await t.cloud.seedDemo({
    shelves: [{ serialNumber: 'L1', bins: [{ sku: 'CUP', unitWeightG: 100, count: 6, toleranceG: 10 }] }],
  });
  await t.cloud.services.registry.createSite({ id: 'elsewhere', name: 'Elsewhere' });
});
afterAll(() => t?.close());

const wsUrl = (query: string) => `${t.cloud.url.replace(/^http/, 'ws')}/api/v1/live${query}`;

function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; messages: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('live WebSocket', () => {
  it('refuses clients without a valid token, and sites they may not see', async () => {
    await expect(open(wsUrl('?site=demo-site'))).rejects.toThrow('HTTP 401');
    await expect(open(wsUrl('?site=demo-site&access_token=nope'))).rejects.toThrow('HTTP 401');
    const limited = await t.token('staff', ['demo-site']);
    await expect(open(wsUrl('?site=elsewhere'), { authorization: `Bearer ${limited}` })).rejects.toThrow(
      'HTTP 403',
    );
  });

  it('streams stock changes and device state of the subscribed site only', async () => {
    const token = await t.token('staff');
    const mine = await open(wsUrl(`?site=demo-site&access_token=${token}`));
    const other = await open(wsUrl('?site=elsewhere'), { authorization: `Bearer ${token}` });
    await eventually(() => mine.messages.some((m) => m.type === 'hello'), 'hello');
    const start = Date.now();
    const publish = (seq: number, at: number, weightG: number) =>
      t.eventLog.publish(
        topics.telemetry,
        readingsEvent('gw-demo-1', 'shelf-L1', steadyReadings(seq, at, [weightG], 6)),
      );
    // The shelf reports its 800 g tray too: the first settled weight (6 cups) fixes the tare, then 3 are picked.
    await publish(1, start, 1400);
    await eventually(
      async () => (await t.cloud.services.inventory.bin('shelf-L1', 0)).tareG === 800,
      'tare aligned',
    );
    expect(mine.messages.some((m) => m.type === 'stock')).toBe(false);
    await eventually(
      () => mine.messages.some((m) => m.type === 'weighed' && m.tareG === 800),
      'weighed message',
    );
    await publish(7, start + 600, 1100);
    const stock = await eventually(() => mine.messages.find((m) => m.type === 'stock'), 'stock message');
    expect(stock).toMatchObject({
      siteId: 'demo-site',
      shelfId: 'shelf-L1',
      bin: 0,
      sku: 'CUP',
      previousCount: 6,
      count: 3,
      reason: 'weight',
    });
    expect(mine.messages.some((m) => m.type === 'weight')).toBe(true);
    expect(other.messages.filter((m) => m.type !== 'hello')).toEqual([]);
    mine.ws.close();
    other.ws.close();
  });
});

describe('dashboard', () => {
  it('logs in with the form, shows each bin with its live count and the fleet with what the edge lost', async () => {
    const app = t.cloud.app;
    expect((await app.request('/sites/demo-site')).status).toBe(302);
    const form = new URLSearchParams({ email: 'boss@test.local', password: 'boss-password-1' });
    const login = await app.request('/login?next=/sites/demo-site', {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/sites/demo-site');
    const cookies = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    expect(cookies).toContain('bv_access=');
    const page = await app.request('/sites/demo-site', { headers: { cookie: cookies } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const count = /data-testid="bin-count-shelf-L1-0"[^>]*>(\d+)/.exec(html);
    expect(count?.[1]).toBe(String((await t.cloud.services.inventory.bin('shelf-L1', 0)).count));
    expect(html).toContain('/assets/live.js');
    const gap = {
      groupId: 'demo-site',
      edgeNodeId: 'gw-demo-1',
      deviceId: 'shelf-L1',
      kind: 'link' as const,
      reason: 'frames never received',
      fromSeq: 40,
      toSeq: 46,
      count: 7,
    };
    expect(await t.cloud.services.gaps.record(gap, new Date())).toBe(true);
    expect(await t.cloud.services.gaps.record(gap, new Date())).toBe(false);
    const fleet = await app.request('/fleet', { headers: { cookie: cookies } });
    const fleetHtml = await fleet.text();
    expect(fleetHtml).toContain('data-testid="gateway-gw-demo-1"');
    expect(/data-testid="gateway-lost-gw-demo-1"[^>]*>(\d+)/.exec(fleetHtml)?.[1]).toBe('7');
    expect(/data-testid="readings-lost"[^>]*>(\d+)/.exec(fleetHtml)?.[1]).toBe('7');
    expect(fleetHtml).toContain('never received from the shelf');
    const bad = await app.request('/login', {
      method: 'POST',
      body: new URLSearchParams({ email: 'boss@test.local', password: 'wrong' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(bad.headers.get('location')).toContain('/login?failed');
  });
});

describe('dashboard cookie on the API', () => {
  it('lets the page call the API with its cookie, and refuses the same call from another origin', async () => {
    const session = await t.cloud.services.users.login('boss@test.local', 'boss-password-1');
    const cookie = `bv_access=${session.access.token}`;
    const body = JSON.stringify({ siteId: 'demo-site', count: 1 });
    const headers = { cookie, 'content-type': 'application/json' };
    const same = await t.cloud.app.request(`${t.cloud.url}/api/v1/claim-tokens`, {
      method: 'POST',
      body,
      headers: { ...headers, origin: t.cloud.url },
    });
    expect(same.status).toBe(201);
    const foreign = await t.cloud.app.request(`${t.cloud.url}/api/v1/claim-tokens`, {
      method: 'POST',
      body,
      headers: { ...headers, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
  });
});
