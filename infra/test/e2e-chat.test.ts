import { tempDir } from '@bitv/shared/testing';
import { decodeJwt } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { e2eAdmin, fillLogin, launchBrowser, screenshot } from './browser.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

const { email: adminEmail, password: adminPassword } = e2eAdmin;
const room = 'site:demo-site';

/**
 * The chat page end to end, as `npm start` runs it: the admin has the demo site's channel open;
 * a second staff member (invited through the API) talks over the WebSocket. The page shows them
 * online, typing, their message without a reload, and what the admin types reaches them (with a
 * mention notification).
 */
describe('end to end: the chat page', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  let removeRunDir: () => Promise<void>;
  let sam: { token: string; id: string };
  const frames: Record<string, unknown>[] = [];
  let socket: WebSocket | undefined;

  const post = async <T>(path: string, body: unknown, token?: string): Promise<T> => {
    const res = await fetch(`${platform.info.dashboardUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const frame = async (pred: (f: Record<string, unknown>) => boolean, what: string) => {
    const end = Date.now() + 30_000;
    for (;;) {
      const f = frames.find(pred);
      if (f) return f;
      if (Date.now() > end) throw new Error(`no ${what}: ${JSON.stringify(frames.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    const dir = await tempDir('bv-e2e-chat-');
    removeRunDir = dir.remove;
    platform = await startPlatformProcess(dir.path, {
      BV_ADMIN_EMAIL: adminEmail,
      BV_ADMIN_PASSWORD: adminPassword,
      BV_DEMO_SHELVES: '1',
      BV_DEMO_BINS: '2',
      BV_DEMO_SHOPPER: 'false',
    });
    const { accessToken } = await post<{ accessToken: string }>('/api/v1/auth/login', {
      email: adminEmail,
      password: adminPassword,
    });
    const { inviteToken } = await post<{ inviteToken: string }>(
      '/api/v1/users/invitations',
      { email: 'sam@e2e.local', name: 'Sam', role: 'staff', sites: ['demo-site'] },
      accessToken,
    );
    const session = await post<{ accessToken: string }>('/api/v1/auth/register', {
      inviteToken,
      password: 'sam-password-1234',
    });
    sam = { token: session.accessToken, id: decodeJwt(session.accessToken).sub as string };
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await page.goto(`${platform.info.dashboardUrl}/login?next=/chat`);
    await fillLogin(page, adminEmail, adminPassword);
    await page.waitForURL((url) => url.pathname === '/chat');
  }, 240_000);

  afterAll(async () => {
    socket?.terminate();
    await browser?.close();
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('shows a colleague online and typing, their message live, and sends what the admin types', async () => {
    await page.goto(`${platform.info.dashboardUrl}/chat?room=${encodeURIComponent(room)}`);
    await page.locator('#chat-live:text-is("live")').waitFor({ timeout: 30_000 });
    await page.evaluate('window.stayed = true');
    const url = `${platform.info.dashboardUrl.replace('http', 'ws')}/api/v1/chat`;
    socket = new WebSocket(url, { headers: { authorization: `Bearer ${sam.token}` } });
    socket.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => {
      socket?.once('open', resolve);
      socket?.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'join', room }));
    await frame((f) => f.type === 'history', 'history');
    await page.locator(`[data-member="${sam.id}"][data-status="online"]`).waitFor({ timeout: 30_000 });
    socket.send(JSON.stringify({ type: 'typing', room }));
    await page.locator('#chat-typing', { hasText: 'is typing' }).waitFor({ timeout: 30_000 });
    socket.send(JSON.stringify({ type: 'send', room, clientId: 'sam-1', body: 'Aisle 3 restocked' }));
    await page.locator('#chat-messages li', { hasText: 'Aisle 3 restocked' }).waitFor({ timeout: 30_000 });

    await page.fill('#chat-input', `On my way @${sam.id}`);
    await page.click('[data-testid="chat-send"]');
    const event = await frame(
      (f) => f.type === 'event' && (f.event as { body: string }).body.startsWith('On my way'),
      'the admin’s message',
    );
    expect((event.event as { author: string }).author).not.toBe(sam.id);
    await frame((f) => f.type === 'mention', 'a mention notification');
    await page.locator('#chat-messages li', { hasText: 'On my way' }).waitFor({ timeout: 30_000 });
    // Sent once, shown once, and all without a reload.
    expect(await page.locator('#chat-messages li', { hasText: 'On my way' }).count()).toBe(1);
    expect(await page.evaluate('window.stayed')).toBe(true);
    await screenshot(page, 'chat');
  });
});
