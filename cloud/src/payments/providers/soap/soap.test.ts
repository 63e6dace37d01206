import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBank } from '@bitv/infra/bank';
import { UnavailableError, ValidationError } from '@bitv/shared';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProviderContract } from '../provider.contract.js';
import { createSoapBankProvider } from './adapter.js';

describeProviderContract('soap-bank (the legacy SOAP bank, real server)', {
  async start({ callbackUrl, secret, now, timeoutMs, registry }) {
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl,
      secret,
      seed: 7,
    });
    const provider = await createSoapBankProvider({ url: bank.url, secret, now, timeoutMs, registry });
    return {
      provider,
      adminUrl: bank.baseUrl,
      async close() {
        await provider.close();
        await bank.close();
      },
    };
  },
});

describe('soap-bank adapter: the contract and bad answers', () => {
  it('keeps the same WSDL as the bank serves', async () => {
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret: 's',
      seed: 1,
    });
    try {
      const served = await (await fetch(`${bank.url}?wsdl`)).text();
      const ours = readFileSync(new URL('./bank.wsdl', import.meta.url), 'utf8');
      const operations = (xml: string) => [...xml.matchAll(/<wsdl:operation name="(\w+)"/g)].map((m) => m[1]);
      expect(operations(served)).toEqual(operations(ours));
      expect(served).toContain('urn:bitv:legacy-bank:1');
    } finally {
      await bank.close();
    }
  });

  describe('a bank that answers garbage', () => {
    let server: Server;
    let registry: Registry;
    let answer: { status: number; type: string; body: string };
    let url: string;

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bank`;
      registry = createRegistry();
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const envelope = (body: string) =>
      `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
    const request = {
      idempotencyKey: 'k',
      paymentId: 'p',
      merchantId: 'm',
      customerId: 'c',
      money: { amountMinor: 100, currency: 'EUR' },
      reference: 'o',
    };

    it.each([
      ['not XML at all', { status: 200, type: 'text/xml', body: 'this is not <xml' }],
      [
        'an HTML error page from a proxy',
        { status: 502, type: 'text/html', body: '<html><body>Bad Gateway</body></html>' },
      ],
      [
        'an envelope without the response code',
        {
          status: 200,
          type: 'text/xml',
          body: envelope(
            '<AuthorizeResponse xmlns="urn:bitv:legacy-bank:1"><ResponseText>?</ResponseText></AuthorizeResponse>',
          ),
        },
      ],
      [
        'an approval without a transaction reference',
        {
          status: 200,
          type: 'text/xml',
          body: envelope(
            '<AuthorizeResponse xmlns="urn:bitv:legacy-bank:1"><ResponseCode>00</ResponseCode><ResponseText>APPROVED</ResponseText><TxnType>AUTH</TxnType><ProcessedAt>2026-12-04T10:00:00Z</ProcessedAt></AuthorizeResponse>',
          ),
        },
      ],
    ])('%s: UnavailableError (malformed), counted, no crash', async (_what, reply) => {
      answer = reply;
      const provider = await createSoapBankProvider({
        url,
        secret: 's',
        registry,
        timeoutMs: 2000,
        resilience: { breaker: false },
      });
      const before = await malformedCount(registry);
      const error = await provider.authorize(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/malformed/);
      expect(await malformedCount(registry)).toBe(before + 1);
    });
  });

  it('the bank refuses an oversized SOAP request with 413 before parsing it', async () => {
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret: 's',
      seed: 1,
    });
    try {
      const response = await fetch(bank.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: `<x>${'a'.repeat(200_000)}</x>`,
      });
      expect(response.status).toBe(413);
      const provider = await createSoapBankProvider({ url: bank.url, secret: 's' });
      const tooLarge = await provider
        .authorize({
          idempotencyKey: 'k-large',
          paymentId: 'p',
          merchantId: 'm',
          customerId: 'c',
          money: { amountMinor: 100, currency: 'EUR' },
          reference: 'r'.repeat(100_000),
        })
        .catch((e: unknown) => e);
      expect(tooLarge).toBeInstanceOf(ValidationError);
      expect((tooLarge as Error).message).toMatch(/too large/);
      const metrics = await (await fetch(`${bank.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/bv_bank_requests_refused_total\{reason="too-large"\} 2/);
      // A malformed SOAP request gets a fault, and the bank keeps serving.
      const bad = await fetch(bank.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: '<soap:Envelope',
      });
      expect(bad.status).toBe(500);
      expect((await fetch(`${bank.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await bank.close();
    }
  });
});

async function malformedCount(registry: Registry): Promise<number> {
  const json = await registry.getMetricsAsJSON();
  const found = json.find((m) => m.name === 'bv_payment_provider_malformed_answers_total');
  return (found?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}
