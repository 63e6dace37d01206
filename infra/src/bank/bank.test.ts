import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@bitv/shared/testing';
import * as soap from 'soap';
import { describe, expect, it } from 'vitest';
import { startBank } from './server.js';

const run = promisify(execFile);
const args = (key: string, amount = 1000) => ({
  RequestKey: key,
  MerchantId: 'm',
  CustomerId: 'c',
  PaymentId: 'p1',
  Amount: amount,
  Currency: 'EUR',
  Reference: 'order-1',
});

describe('the legacy bank as a service', () => {
  it('keeps its ledger across a restart: the same key answers the same authorization', async () => {
    const dir = await tempDir('bv-bank-');
    const dbPath = join(dir.path, 'bank.sqlite');
    const start = () =>
      startBank({ host: '127.0.0.1', port: 0, dbPath, callbackUrl: undefined, secret: 's', seed: 1 });
    try {
      let bank = await start();
      let client = await soap.createClientAsync(`${bank.url}?wsdl`, {}, bank.url);
      const [first] = await client.AuthorizeAsync(args('key-1'));
      await bank.close();
      bank = await start();
      client = await soap.createClientAsync(`${bank.url}?wsdl`, {}, bank.url);
      const [again] = await client.AuthorizeAsync(args('key-1'));
      expect(again.TransactionRef).toBe(first.TransactionRef);
      const [status] = await client.GetStatusAsync({ RequestKey: 'key-1' });
      expect(status.Found).toBe(true);
      await bank.close();
    } finally {
      await dir.remove();
    }
  });

  it('answers a reused key with other data with fault 94, bad data with fault 30', async () => {
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret: 's',
      seed: 1,
    });
    try {
      const client = await soap.createClientAsync(`${bank.url}?wsdl`, {}, bank.url);
      await client.AuthorizeAsync(args('key-2'));
      await expect(client.AuthorizeAsync(args('key-2', 2000))).rejects.toThrow(
        /soap:Client: 94 DUPLICATE TRANSMISSION/,
      );
      await expect(client.AuthorizeAsync({ ...args('key-3'), Currency: 'euro' })).rejects.toThrow(
        /soap:Client: 30 FORMAT ERROR: Currency/,
      );
    } finally {
      await bank.close();
    }
  });

  it('changes its faults at runtime and refuses bad fault settings with 400', async () => {
    const bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret: 's',
      seed: 1,
    });
    try {
      const put = (body: unknown) =>
        fetch(`${bank.baseUrl}/admin/faults`, { method: 'PUT', body: JSON.stringify(body) });
      const ok = await put({ latencyMs: 5, settlementDrift: 'drop' });
      expect(await ok.json()).toMatchObject({ latencyMs: 5, settlementDrift: 'drop', faultRate: 0 });
      const bad = await put({ faultRate: 2 });
      expect(bad.status).toBe(400);
      expect((await put({ nonsense: true })).status).toBe(400);
      expect(await (await fetch(`${bank.baseUrl}/admin/faults`)).json()).toMatchObject({ latencyMs: 5 });
    } finally {
      await bank.close();
    }
  });

  it('prints its settings with --help', async () => {
    const cli = join(import.meta.dirname, 'cli.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, '--help'], { timeout: 60_000 });
    expect(stdout).toContain('BV_BANK_TIMEOUT_AFTER_COMMIT_RATE');
    expect(stdout).toContain('--settlement-drift');
  });
});

describe('the bank command', () => {
  it('exits with status 2 and one line for a fault rate above 1', async () => {
    const cli = join(import.meta.dirname, 'cli.ts');
    const failure = await run(process.execPath, ['--import', 'tsx', cli, '--memory', '--fault-rate', '2'], {
      timeout: 60_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/bad fault settings: faultRate/);
  });
});
