import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { screenshot } from './browser.js';
import { type E2ePlatform, startE2ePlatform } from './e2e-platform.js';

const room = 'site:demo-site';

/**
 * The chat page end to end, as `npm start` runs it: the admin has the demo site's channel open;
 * a second staff member (invited through the API) talks over the WebSocket. The page shows them
 * online, typing, their message without a reload, and what the admin types reaches them (with a
 * mention notification).
 */
describe('end to end: the chat page', () => {
  let e2e: E2ePlatform;
  let page: Page;
  let sam: { token: string; id: string };
  const frames: Record<string, unknown>[] = [];
  let socket: WebSocket | undefined;

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
    e2e = await startE2ePlatform({
      dirPrefix: 'bv-e2e-chat-',
      env: { BV_DEMO_SHELVES: '1', BV_DEMO_BINS: '2', BV_DEMO_SHOPPER: 'false' },
      landOn: '/chat',
      context: { viewport: { width: 1400, height: 900 } },
    });
    page = e2e.page;
    sam = await e2e.invite({ email: 'sam@e2e.local', name: 'Sam', role: 'staff', sites: ['demo-site'] });
  }, 300_000);

  afterAll(async () => {
    socket?.terminate();
    const code = await e2e?.close();
    expect(code, 'the platform exits cleanly on Ctrl-C').toBe(0);
  }, 60_000);

  it('shows a colleague online and typing, their message live, and sends what the admin types', async () => {
    await page.goto(`${e2e.url}/chat?room=${encodeURIComponent(room)}`);
    await page.locator('#chat-live:text-is("live")').waitFor({ timeout: 30_000 });
    await page.evaluate('window.stayed = true');
    const url = `${e2e.url.replace('http', 'ws')}/api/v1/chat`;
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
