import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { TimeoutError } from '@bitv/shared';
import { createEvent, orderPlacedV1, topics } from '@bitv/shared/events';
import { eventually } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendWebhook } from '../src/webhooks/sender.js';
import { checkEndpointUrl, isInternalAddress, SsrfError } from '../src/webhooks/ssrf.js';
import { authed, startTestCloud, type TestCloud } from './harness.js';
import { startReceiver } from './webhooks-receiver.js';

describe('the SSRF guard', () => {
  it('calls loopback, private, link-local, multicast and mapped addresses internal, public ones not', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isInternalAddress(a), a).toBe(false);
    }
  });

  it('refuses URLs that are not plain http(s) or point inside by name or literal', () => {
    expect(() => checkEndpointUrl('ftp://example.com/x', false)).toThrow(/http or https/);
    expect(() => checkEndpointUrl('https://user:pw@example.com/x', false)).toThrow(/credentials/);
    expect(() => checkEndpointUrl('http://localhost:8080/x', false)).toThrow(/inside the network/);
    expect(() => checkEndpointUrl('http://[::1]/x', false)).toThrow(/inside the network/);
    expect(() => checkEndpointUrl('http://169.254.169.254/latest/meta-data', false)).toThrow(SsrfError);
    expect(checkEndpointUrl('http://127.0.0.1/x', true).hostname).toBe('127.0.0.1');
  });

  it('never connects to a name that resolves inside, even when the URL passed registration', async () => {
    const receiver = await startReceiver();
    try {
      const port = new URL(receiver.url('/')).port;
      // `localhost` resolves to loopback: the lookup used for the connection refuses it.
      await expect(
        sendWebhook({
          url: `http://localhost:${port}/hook`,
          body: '{}',
          headers: {},
          timeoutMs: 2_000,
          snippetBytes: 100,
          allowPrivate: false,
        }),
      ).rejects.toThrow(/internal address/);
      expect(receiver.received).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});

describe('a receiver that misbehaves', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/huge') {
        // 64 MB answer: only the snippet may be read.
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let sent = 0;
        const pump = () => {
          while (sent < 1024 && res.write(chunk)) sent++;
          if (sent < 1024) res.once('drain', pump);
          else res.end();
        };
        pump();
        return;
      }
      // '/hang': never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    if (typeof a !== 'object' || !a) throw new Error('no address');
    base = `http://127.0.0.1:${a.port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const send = (path: string) =>
    sendWebhook({
      url: `${base}${path}`,
      body: '{}',
      headers: {},
      timeoutMs: 500,
      snippetBytes: 256,
      allowPrivate: true,
    });

  it('reads only a bounded snippet of a huge response', async () => {
    const result = await send('/huge');
    expect(result.status).toBe(200);
    expect(result.snippet.length).toBe(256);
    expect(result.snippet.length).toBeGreaterThan(0);
  });

  it('gives up on a receiver that never answers, with a timeout error', async () => {
    await expect(send('/hang')).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('bad input through a running cloud (no private targets allowed)', () => {
  let t: TestCloud;
  let partner: string;
  const api = (path: string, init?: RequestInit) => fetch(`${t.cloud.url}${path}`, init);
  const refusedCount = async (reason: string) => {
    const text = await (await api('/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith(`bv_webhooks_refused_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    t = await startTestCloud('pglite', {
      modules: ['webhooks'],
      webhooks: {
        maxPayloadBytes: 1024,
        timeoutMs: 300,
        schedule: '0',
        queueName: `bv.webhooks.guard.${randomUUID().slice(0, 8)}`,
      },
    });
    partner = await t.token('partner');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('refuses an endpoint URL pointing inside the network with a clear error, counted', async () => {
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://10.0.0.8/x',
      'http://169.254.169.254/latest',
      'http://localhost/x',
      'http://[::1]/x',
    ]) {
      const res = await api('/api/v1/webhooks/endpoints', authed(partner, { url, eventTypes: ['*'] }));
      expect(res.status, url).toBe(400);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message, url).toMatch(/inside the network|internal address/);
    }
    expect(await refusedCount('ssrf')).toBe(5);
  });

  it('refuses an unknown event type', async () => {
    const res = await api(
      '/api/v1/webhooks/endpoints',
      authed(partner, { url: 'http://93.184.216.34/x', eventTypes: ['bv.nope.v1'] }),
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/unknown event type/);
  });

  it('refuses an oversized event payload, counted and never queued, while a small one is', async () => {
    const created = await api(
      '/api/v1/webhooks/endpoints',
      authed(partner, { url: 'http://93.184.216.34/hook', eventTypes: ['bv.order.placed.v1'] }),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const event = (lines: number) =>
      createEvent(orderPlacedV1, {
        source: '/test',
        key: 'o',
        data: {
          orderId: randomUUID(),
          customerId: 'c',
          siteId: 's',
          lines: Array.from({ length: lines }, (_, i) => ({
            lineId: `line-${i}`,
            sku: `SKU-${'X'.repeat(50)}-${i}`,
            quantity: 1,
          })),
          placedBy: 'user:c',
          placedAt: new Date().toISOString(),
        },
      });
    await t.eventLog.publish(topics.orders, event(60));
    await t.eventLog.publish(topics.orders, event(1));
    const list = async () =>
      (await (
        await api(`/api/v1/webhooks/endpoints/${id}/deliveries`, authed(partner, undefined, 'GET'))
      ).json()) as unknown[];
    await eventually(
      async () => (await list()).length === 1,
      'the small event delivered (attempted)',
      30_000,
    );
    expect(await refusedCount('oversized')).toBe(1);
  });
});
