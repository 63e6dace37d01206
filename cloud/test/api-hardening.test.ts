import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMaxBodyBytes } from '../src/api/middleware/body-limit.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

let t: TestCloud;
let staff: string;
let partner: string;
const adminEmail = 'root@test.local';
const adminPassword = 'root-password-1';

beforeAll(async () => {
  // Each test that logs in comes from its own address (X-Forwarded-For, trusted here), so the
  // address counter of one test does not lock another; a long first lockout keeps them timing-free.
  t = await startTestCloud('pglite', {
    admin: { email: adminEmail, password: adminPassword },
    trustProxy: true,
    loginThrottle: { lockoutSeconds: 600 },
  });
  staff = await t.token('staff');
  partner = await t.token('partner');
  await t.cloud.seedDemo({
    shelves: [{ serialNumber: 'H1', bins: [{ sku: 'BOLT', unitWeightG: 50, count: 10, toleranceG: 5 }] }],
  });
});
afterAll(() => t?.close());

const request = (path: string, init?: RequestInit) => t.cloud.app.request(path, init);
const tenMegabytes = 10 * 1024 * 1024;

/** A JSON-looking body of `size` bytes produced lazily; `pulled()` says how much was read. */
function streamedBody(size: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled: () => sent };
}

describe('request body limit', () => {
  it('answers a 10 MB JSON body with 413 in the error shape, before authentication or parsing', async () => {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(tenMegabytes) });
    for (const [path, token] of [
      ['/api/v1/auth/login', ''],
      ['/api/v1/reservations', partner],
    ] as const) {
      const res = await request(path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(big.length),
          authorization: `Bearer ${token || 'x'}`,
        },
        body: big,
      });
      expect(res.status, path).toBe(413);
      expect(await json(res)).toEqual({
        error: {
          code: 'payload_too_large',
          message: `request body is larger than ${defaultMaxBodyBytes} bytes`,
          details: { maxBytes: defaultMaxBodyBytes },
        },
      });
    }
  });

  it('holds for a chunked body without Content-Length, and stops reading at the limit', async () => {
    const { body, pulled } = streamedBody(tenMegabytes);
    const res = await request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await json(res)).error as { code: string }).code).toBe('payload_too_large');
    expect(pulled()).toBeLessThan(1024 * 1024);
  });

  it('holds over a real socket for a chunked upload, and closes the connection on it', async () => {
    const url = new URL('/api/v1/auth/login', t.cloud.url);
    const answer = await new Promise<{ status: number; connection?: string; body: string }>((resolve) => {
      const req = httpRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
          );
        },
      );
      // The server answers, then hangs up mid-upload: the upload fails (EPIPE, ECONNRESET), which
      // is the point; the answer has arrived by then. No answer at all fails on the test's timeout.
      req.on('error', () => undefined);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let written = 0;
      const pump = (): void => {
        while (written < tenMegabytes) {
          written += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
    expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('limits the dashboard forms too', async () => {
    const { body } = streamedBody(tenMegabytes);
    const res = await request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('lets a body under the limit through', async () => {
    const res = await request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.0.0.1' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    expect(res.status).toBe(200);
    // The same login chunked (no Content-Length): counted, then handed on whole.
    const bytes = new TextEncoder().encode(JSON.stringify({ email: adminEmail, password: adminPassword }));
    const chunked = await request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.0.0.1' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 10));
          controller.enqueue(bytes.subarray(10));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(200);
  });

  it('documents the limit in the OpenAPI document', async () => {
    const doc = await json(await request('/openapi.json'));
    const login = (doc.paths as Record<string, Record<string, Record<string, unknown>>>)['/api/v1/auth/login']
      ?.post as Record<string, unknown>;
    expect(login['x-bitv-max-body-bytes']).toBe(defaultMaxBodyBytes);
    expect(Object.keys(login.responses as object)).toEqual(expect.arrayContaining(['413', '429']));
  });
});

// Each refused login still runs scrypt (unknown accounts too, so timing tells nothing): dozens of
// them take seconds on a busy 2-core machine, hence the longer timeout here.
describe('login throttling', { timeout: 120_000 }, () => {
  const login = (email: string, password: string, address: string) =>
    request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.9, ${address}` },
      body: JSON.stringify({ email, password }),
    });
  const throttledCount = async (by: string) => {
    const text = await (await request('/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith(`bv_cloud_login_throttled_total{by="${by}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('refuses the right password after 30 wrong ones: 429 with Retry-After, counted in /metrics', async () => {
    const before = await throttledCount('account');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await login(adminEmail, `wrong-${i}`, '10.1.0.1')).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    // The account is locked whatever the address: the right password from elsewhere is refused too.
    const res = await login(` ${adminEmail.toUpperCase()}`.trim(), adminPassword, '10.1.0.2');
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(await json(res)).toMatchObject({
      error: { code: 'too_many_attempts', details: { retryAfterSeconds: retryAfter } },
    });
    expect(await throttledCount('account')).toBe(before + 26);
  });

  it('forgets an account’s failures once the right password is given', async () => {
    const email = 'staff-throttle@test.local';
    await t.cloud.services.users.create({
      email,
      name: 's',
      role: 'staff',
      password: 'right-password',
      sites: null,
    });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect((await login(email, 'wrong', `10.2.${round}.1`)).status).toBe(401);
      expect((await login(email, 'right-password', `10.2.${round}.1`)).status).toBe(200);
    }
  });

  it('locks an address that guesses across many accounts', async () => {
    const before = await throttledCount('address');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await login(`nobody${i}@test.local`, 'guess', '10.3.0.1')).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
    expect(await throttledCount('address')).toBe(before + 5);
    // Another address is not affected.
    expect((await login('nobody0@test.local', 'guess', '10.3.0.2')).status).toBe(401);
  });

  it('says so on the dashboard login page, with 429 and Retry-After', async () => {
    const form = (password: string) =>
      request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '10.4.0.1' },
        body: new URLSearchParams({ email: 'dash@test.local', password }).toString(),
      });
    for (let i = 0; i < 5; i++) expect((await form('wrong')).status).toBe(303);
    const res = await form('wrong');
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.text()).toContain('Too many failed logins');
  });
});

describe('site-scoped routes and single resources', () => {
  it('answers 404 for an unknown site instead of an empty list', async () => {
    for (const path of [
      '/api/v1/sites/nope/alerts',
      '/api/v1/shelves?siteId=nope',
      '/api/v1/gateways?siteId=nope',
      '/api/v1/stock/BOLT?siteId=nope',
    ]) {
      const res = await request(path, authed(staff, undefined, 'GET'));
      expect(res.status, path).toBe(404);
      expect(((await json(res)).error as { code: string }).code).toBe('not_found');
    }
    expect((await request('/api/v1/sites/demo-site/alerts', authed(staff, undefined, 'GET'))).status).toBe(
      200,
    );
  });

  it('gets one product: 200, and 404 for an unknown SKU', async () => {
    const res = await request('/api/v1/products/BOLT', authed(partner, undefined, 'GET'));
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ sku: 'BOLT', unitWeightG: 50 });
    expect((await request('/api/v1/products/NOPE', authed(partner, undefined, 'GET'))).status).toBe(404);
  });

  it('gets one reservation: 200, 404 for an unknown id, and only for the roles that reserve', async () => {
    const made = await json(
      await request(
        '/api/v1/reservations',
        authed(partner, { sku: 'BOLT', quantity: 2, reference: 'order-1' }),
      ),
    );
    const res = await request(`/api/v1/reservations/${made.id}`, authed(partner, undefined, 'GET'));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(made);
    const unknown = await request(
      '/api/v1/reservations/00000000-0000-4000-8000-000000000000',
      authed(partner, undefined, 'GET'),
    );
    expect(unknown.status).toBe(404);
    expect((await request(`/api/v1/reservations/${made.id}`, authed(staff, undefined, 'GET'))).status).toBe(
      403,
    );
  });
});

describe('reservations belong to whoever made them', () => {
  it('shows and releases a partner’s reservations to them (and their keys) only; operators see all', async () => {
    const other = await t.token('partner');
    const operator = await t.token('operator');
    const made = await json(
      await request(
        '/api/v1/reservations',
        authed(partner, { sku: 'BOLT', quantity: 1, reference: 'own-1' }),
      ),
    );
    const key = (await json(await request('/api/v1/api-keys', authed(partner, { name: 'k' })))).key as string;
    const byKey = { headers: { 'x-api-key': key } };
    const list = async (init: RequestInit) =>
      ((await json(await request('/api/v1/reservations', init))).reservations as { id: string }[]).map(
        (r) => r.id,
      );

    expect(await list(authed(partner, undefined, 'GET'))).toContain(made.id);
    expect(await list(byKey)).toContain(made.id);
    expect(await list(authed(operator, undefined, 'GET'))).toContain(made.id);
    expect(await list(authed(other, undefined, 'GET'))).not.toContain(made.id);
    expect((await request(`/api/v1/reservations/${made.id}`, byKey)).status).toBe(200);
    expect((await request(`/api/v1/reservations/${made.id}`, authed(other, undefined, 'GET'))).status).toBe(
      404,
    );
    expect((await request(`/api/v1/reservations/${made.id}/release`, authed(other))).status).toBe(404);
    // Another partner cannot retry (or learn about) someone else's reference.
    const taken = await request(
      '/api/v1/reservations',
      authed(other, { sku: 'BOLT', quantity: 1, reference: 'own-1' }),
    );
    expect(taken.status).toBe(409);
    // The owner's retry is still idempotent, through a key as through the token.
    const retried = await request('/api/v1/reservations', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'BOLT', quantity: 1, reference: 'own-1' }),
    });
    expect(retried.status).toBe(201);
    expect((await json(retried)).id).toBe(made.id);
    const released = await request(`/api/v1/reservations/${made.id}/release`, authed(partner));
    expect(await json(released)).toMatchObject({ id: made.id, status: 'released' });
  });
});

describe('error pages and the partner page', () => {
  const page = (path: string, init: RequestInit = {}) =>
    request(path, { ...init, headers: { accept: 'text/html,*/*;q=0.8', ...(init.headers ?? {}) } });

  it('shows browsers an HTML 404 page, while API paths and scripts keep JSON', async () => {
    const res = await page('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('data-testid="error-page"');
    expect(html).toContain('Page not found');
    expect(html).toContain('/assets/app.css');
    const api = await page('/api/v1/nope');
    expect(api.status).toBe(404);
    expect(((await json(api)).error as { code: string }).code).toBe('not_found');
    const script = await request('/no-such-page');
    expect(((await json(script)).error as { code: string }).code).toBe('not_found');
  });

  it('shows an error page for a page whose data is missing', async () => {
    const res = await page('/sites/nope', { headers: { cookie: `bv_access=${staff}` } });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain('data-testid="error-page"');
    expect(html).toContain('site nope not found');
  });

  it('sends a partner to an API page: keys (create, revoke) and the API reference', async () => {
    const home = await page('/', { headers: { cookie: `bv_access=${partner}` } });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/partner');
    const created = await page('/partner/api-keys', {
      method: 'POST',
      headers: { cookie: `bv_access=${partner}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=shop+backend',
    });
    expect(created.status).toBe(200);
    const html = await created.text();
    const key = /data-testid="api-key-secret">(bvk_[^<]+)</.exec(html)?.[1] as string;
    expect(key).toBeDefined();
    expect(html).toContain('shop backend');
    expect(html).toContain('/api/v1/reservations/{id}'); // the reference, from the OpenAPI document
    expect(html).toContain('data-testid="reservation-row"'); // made in the tests above
    expect((await request('/api/v1/products', { headers: { 'x-api-key': key } })).status).toBe(200);
    const id = /data-key-id="([^"]+)"><td>shop backend</.exec(html)?.[1] as string;
    expect(id).toBeDefined();
    const revoked = await page(`/partner/api-keys/${id}/revoke`, {
      method: 'POST',
      headers: { cookie: `bv_access=${partner}` },
    });
    expect(revoked.status).toBe(303);
    expect((await request('/api/v1/products', { headers: { 'x-api-key': key } })).status).toBe(401);
    const foreign = await page(`/partner/api-keys/${id}/revoke`, {
      method: 'POST',
      headers: { cookie: `bv_access=${partner}`, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect((await page('/partner', { headers: { cookie: `bv_access=${staff}` } })).status).toBe(403);
  });
});
