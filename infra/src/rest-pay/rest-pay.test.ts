import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { startRestPay } from './server.js';

const run = promisify(execFile);
const authorize = (url: string, key: string, value = 1000) =>
  fetch(`${url}/v1/authorizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({
      paymentId: 'p1',
      merchantId: 'm',
      customerId: 'c',
      amount: { value, currency: 'EUR' },
      reference: 'order-1',
    }),
  });

describe('rest-pay as a service', () => {
  it('keeps its ledger across a restart and refuses a reused key with another body (409)', async () => {
    const dir = await tempDir('bv-rest-pay-');
    const dbPath = join(dir.path, 'rest-pay.sqlite');
    const start = () =>
      startRestPay({ host: '127.0.0.1', port: 0, dbPath, callbackUrl: undefined, secret: 's', seed: 1 });
    try {
      let service = await start();
      const first = (await (await authorize(service.url, 'key-1')).json()) as { authorizationId: string };
      await service.close();
      service = await start();
      const again = (await (await authorize(service.url, 'key-1')).json()) as { authorizationId: string };
      expect(again.authorizationId).toBe(first.authorizationId);
      const reused = await authorize(service.url, 'key-1', 2000);
      expect(reused.status).toBe(409);
      expect(await reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
      expect((await fetch(`${service.url}/v1/operations/key-1`)).status).toBe(200);
      expect((await fetch(`${service.url}/v1/authorizations`, { method: 'DELETE' })).status).toBe(405);
      await service.close();
    } finally {
      await dir.remove();
    }
  });

  it('prints its settings with --help', async () => {
    const cli = join(import.meta.dirname, 'cli.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, '--help'], { timeout: 60_000 });
    expect(stdout).toContain('BV_REST_PAY_FAULT_RATE');
    expect(stdout).toContain('RestPay-Signature');
  });
});
