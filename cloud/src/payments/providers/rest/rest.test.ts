import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRestPay } from '@bitv/infra/rest-pay';
import { UnavailableError, ValidationError } from '@bitv/shared';
import { createRegistry } from '@bitv/shared/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProviderContract } from '../provider.contract.js';
import { RestPayProvider } from './adapter.js';

describeProviderContract('rest-pay (the modern JSON/REST provider, real server)', {
  async start({ callbackUrl, secret, now, timeoutMs, registry }) {
    const service = await startRestPay({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl,
      secret,
      seed: 7,
    });
    const provider = new RestPayProvider({ url: service.url, secret, now, timeoutMs, registry });
    return {
      provider,
      adminUrl: service.url,
      async close() {
        await provider.close();
        await service.close();
      },
    };
  },
});

describe('rest-pay: bad input both ways', () => {
  let server: Server;
  let reply: { status: number; body: string };
  let provider: RestPayProvider;
  const registry = createRegistry();
  const request = {
    idempotencyKey: 'k',
    paymentId: 'p',
    merchantId: 'm',
    customerId: 'c',
    money: { amountMinor: 100, currency: 'EUR' },
    reference: 'o',
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new RestPayProvider({
      url,
      secret: 's',
      registry,
      timeoutMs: 2000,
      resilience: { breaker: false },
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['not JSON', { status: 200, body: '<html>oops' }],
    ['JSON of another shape', { status: 200, body: '{"ok":true}' }],
    [
      'an approval without an authorization id',
      { status: 200, body: '{"status":"approved","operation":"authorize"}' },
    ],
  ])('%s: UnavailableError (malformed), counted, no crash', async (_what, answer) => {
    reply = answer;
    const error = await provider.authorize(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/malformed/);
  });

  it('counts every malformed answer', async () => {
    const json = await registry.getMetricsAsJSON();
    const found = json.find((m) => m.name === 'bv_payment_provider_malformed_answers_total');
    expect(found?.values[0]?.value).toBe(3);
  });

  it('rest-pay refuses an oversized body (413 -> ValidationError) and a missing idempotency key', async () => {
    const service = await startRestPay({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret: 's',
      seed: 1,
    });
    try {
      const real = new RestPayProvider({ url: service.url, secret: 's' });
      const error = await real
        .authorize({ ...request, reference: 'r'.repeat(100_000) })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/payload_too_large/);
      const bare = await fetch(`${service.url}/v1/authorizations`, { method: 'POST', body: '{}' });
      expect(bare.status).toBe(400);
      expect(await bare.json()).toMatchObject({ error: { code: 'idempotency_key_required' } });
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    } finally {
      await service.close();
    }
  });
});
