import { createHmac } from 'node:crypto';
import { startBank } from '@bitv/infra/bank';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from './harness.js';

/**
 * The payments REST surface on a whole cloud (PGlite) with the real SOAP bank: the flag routes
 * (admin only, validated, persisted), the payment list, a day's reconciliation, and notifications
 * (a forged one refused with 400 and counted).
 */
describe('payments API', () => {
  let t: TestCloud;
  let bank: Awaited<ReturnType<typeof startBank>>;
  const secret = 'api-bank-secret';

  beforeAll(async () => {
    bank = await startBank({
      host: '127.0.0.1',
      port: 0,
      dbPath: undefined,
      callbackUrl: undefined,
      secret,
      seed: 2,
    });
    t = await startTestCloud('pglite', {
      payments: { bankUrl: bank.url, bankSecret: secret, workEveryMs: 100 },
    });
  }, 400_000);
  afterAll(async () => {
    await t?.close();
    await bank?.close();
  }, 60_000);

  const call = async (path: string, token: string, init: RequestInit = {}) => {
    const res = await fetch(`${t.cloud.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('the toggle: staff read it, only an admin changes it, unknown providers are refused, the change is listed', async () => {
    const staff = await t.token('staff');
    const admin = await t.token('admin');
    const flag = '/api/v1/admin/flags/payments.provider';
    const read = await call(flag, staff);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ providers: ['soap-bank'], rules: { defaultProvider: 'soap-bank' } });
    const body = JSON.stringify({ defaultProvider: 'soap-bank', merchants: { 'site-9': 'soap-bank' } });
    expect((await call(flag, staff, { method: 'PUT', body })).status).toBe(403);
    const refused = await call(flag, admin, {
      method: 'PUT',
      body: JSON.stringify({ defaultProvider: 'rest-pay' }),
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('unknown provider rest-pay');
    const changed = await call(flag, admin, { method: 'PUT', body });
    expect(changed.status).toBe(200);
    expect((await call(flag, staff)).body).toMatchObject({ rules: { merchants: { 'site-9': 'soap-bank' } } });
  }, 120_000);

  it('lists payments and reconciles a day; a bad day is a 400', async () => {
    const operator = await t.token('operator');
    expect((await call('/api/v1/payments', operator)).body).toEqual({ payments: [] });
    const day = new Date().toISOString().slice(0, 10);
    const run = await call(`/api/v1/payments/reconciliation/${day}`, operator, { method: 'POST' });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      results: [{ day, provider: 'soap-bank', lines: 0, matched: 0, findings: [] }],
    });
    expect(
      (await call('/api/v1/payments/reconciliation/2026-13-40', operator, { method: 'POST' })).status,
    ).toBe(400);
    expect((await call('/api/v1/payments/reconciliation', operator)).body).toMatchObject({
      runs: [{ day, findings: 0 }],
    });
  }, 120_000);

  it('a forged notification is refused (400) and counted; an unknown provider is a 404', async () => {
    const body = JSON.stringify({ hello: 'bank' });
    const forged = await fetch(`${t.cloud.url}/api/v1/payments/notifications/soap-bank`, {
      method: 'POST',
      headers: {
        'content-type': 'text/xml',
        'x-bank-signature': createHmac('sha256', 'wrong').update(body).digest('hex'),
      },
      body,
    });
    expect(forged.status).toBe(400);
    const unknown = await fetch(`${t.cloud.url}/api/v1/payments/notifications/nobody`, {
      method: 'POST',
      body,
    });
    expect(unknown.status).toBe(404);
    const metrics = await (await fetch(`${t.cloud.url}/metrics`)).text();
    expect(metrics).toMatch(/bv_payments_notifications_refused_total\{provider="soap-bank"\} 1/);
  }, 120_000);
});
