import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { FaultInjector } from './faults.js';
import { Notifier } from './notifier.js';

describe('notifier', () => {
  it('tries a failed POST again, signs every attempt, and counts', async () => {
    const seen: { body: string; timestamp: string; signature: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ body, timestamp: String(req.headers['x-ts']), signature: String(req.headers['x-sig']) });
        // The first attempt fails: the receiver is briefly down.
        res.writeHead(seen.length === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const registry = createRegistry();
    const notifier = new Notifier({
      callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/n`,
      secret: 'k',
      encode: (n) => ({ body: JSON.stringify(n), contentType: 'application/json' }),
      sign: (t, s) => ({ 'x-ts': String(t), 'x-sig': s }),
      faults: new FaultInjector(1),
      registry,
      log: silentLogger,
      service: 'test',
    });
    try {
      notifier.notify({
        paymentId: 'p',
        ref: 'r',
        operation: 'capture',
        approved: true,
        code: '00',
        at: 'now',
      });
      await eventually(() => seen.length === 2, 'the second attempt', 10_000);
      for (const s of seen) {
        expect(s.signature).toBe(createHmac('sha256', 'k').update(`${s.timestamp}.${s.body}`).digest('hex'));
      }
      // The receiver sees the body before the notifier sees the answer: wait for the count.
      const metrics = await eventually(async () => {
        const text = await registry.metrics();
        return /bv_payment_notifications_sent_total\{service="test"\} 1/.test(text) ? text : undefined;
      }, 'the sent count');
      expect(metrics).toMatch(/bv_payment_notifications_failed_total\{service="test"\} 1/);
    } finally {
      await notifier.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('drops (and counts) what exceeds its queue, and everything without a callback URL', async () => {
    const registry = createRegistry();
    const notifier = new Notifier({
      callbackUrl: undefined,
      secret: 'k',
      encode: (n) => ({ body: JSON.stringify(n), contentType: 'application/json' }),
      sign: () => ({}),
      faults: new FaultInjector(1),
      registry,
      log: silentLogger,
      service: 'test',
    });
    notifier.notify({ paymentId: 'p', ref: 'r', operation: 'void', approved: true, code: '00', at: 'now' });
    expect(await registry.metrics()).toMatch(/bv_payment_notifications_dropped_total\{service="test"\} 1/);
    const boundedRegistry = createRegistry();
    const bounded = new Notifier({
      callbackUrl: 'http://127.0.0.1:9/never',
      secret: 'k',
      encode: (n) => ({ body: JSON.stringify(n), contentType: 'application/json' }),
      sign: () => ({}),
      faults: new FaultInjector(1, { notificationDelayMs: 60_000 }),
      registry: boundedRegistry,
      log: silentLogger,
      service: 'bounded',
      maxQueue: 2,
    });
    for (let i = 0; i < 5; i++) {
      bounded.notify({
        paymentId: `p${i}`,
        ref: 'r',
        operation: 'void',
        approved: true,
        code: '00',
        at: 'now',
      });
    }
    // Two wait (delayed a minute), three found the queue full.
    expect(await boundedRegistry.metrics()).toMatch(
      /bv_payment_notifications_dropped_total\{service="bounded"\} 3/,
    );
    await bounded.close();
    await notifier.close();
  });
});
