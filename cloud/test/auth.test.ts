import type { Role } from '@bitv/shared/auth';
import { roles } from '@bitv/shared/auth';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyRoute } from '../src/api/route.js';
import { authed, json, startTestCloud, type TestCloud } from './harness.js';

let t: TestCloud;
const tokens = new Map<Role, string>();
const expired = new Map<Role, string>();

beforeAll(async () => {
  t = await startTestCloud('pglite', { admin: { email: 'root@test.local', password: 'root-password-1' } });
  for (const role of roles) {
    tokens.set(role, await t.token(role));
    expired.set(role, await t.expiredToken(role));
  }
});
afterAll(() => t?.close());

const pathOf = (r: AnyRoute) => r.path.replace(/:bin/g, '0').replace(/:[a-z]+/gi, 'x');
const call = (r: AnyRoute, init: RequestInit) =>
  t.cloud.app.request(pathOf(r), { method: r.method.toUpperCase(), ...init });
const label = (r: AnyRoute) => `${r.method.toUpperCase()} ${r.path}`;

async function forgedToken(role: Role): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  const kid = t.cloud.services.keys.current.kid; // claims to be the registry's key
  return new SignJWT({ kind: 'user', role })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer('bitvelocity')
    .setAudience(['bitv-api', 'bitv-gateway'])
    .setSubject('mallory')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

describe('every route declares and enforces who may call it', () => {
  it('has routes, each with an access rule', () => {
    expect(t.cloud.routes.length).toBeGreaterThan(25);
    for (const r of t.cloud.routes) expect(r.access, label(r)).toBeDefined();
  });

  it('refuses missing, expired, forged and wrong-role credentials on every non-public route', async () => {
    const forged = await forgedToken('admin');
    for (const r of t.cloud.routes.filter((x) => x.access !== 'public')) {
      const missing = await call(r, {});
      expect(missing.status, `${label(r)} without a token`).toBe(401);
      expect(await json(missing), label(r)).toMatchObject({ error: { code: 'unauthenticated' } });
      const allowed: Role = r.access === 'gateway' ? 'admin' : (r.access[0] as Role);
      const old = await call(r, { headers: { authorization: `Bearer ${expired.get(allowed)}` } });
      expect(old.status, `${label(r)} with an expired token`).toBe(401);
      expect((await json(old)).error, label(r)).toMatchObject({
        message: expect.stringMatching(/expired|not a gateway/),
      });
      const fake = await call(r, { headers: { authorization: `Bearer ${forged}` } });
      expect(fake.status, `${label(r)} with a forged token`).toBe(401);
      const garbage = await call(r, { headers: { authorization: 'Bearer not.a.jwt' } });
      expect(garbage.status, `${label(r)} with garbage`).toBe(401);
      if (r.access === 'gateway') {
        // A user token is not a device credential, whatever its role.
        const user = await call(r, { headers: { authorization: `Bearer ${tokens.get('admin')}` } });
        expect(user.status, `${label(r)} with a user token`).toBe(401);
        continue;
      }
      for (const role of roles.filter((x) => !(r.access as readonly Role[]).includes(x))) {
        const wrong = await call(r, { headers: { authorization: `Bearer ${tokens.get(role)}` } });
        expect(wrong.status, `${label(r)} as ${role}`).toBe(403);
        expect(await json(wrong), label(r)).toMatchObject({ error: { code: 'forbidden' } });
      }
    }
    // Every module's routes are walked (several calls each): a bound, not a timing.
  }, 300_000);

  it('answers malformed bodies with 4xx and a clear message, never 500', async () => {
    for (const r of t.cloud.routes.filter((x) => x.body !== undefined)) {
      const role: Role = r.access === 'public' || r.access === 'gateway' ? 'admin' : (r.access[0] as Role);
      for (const body of ['{not json', '[1,2]', '"text"', '{}', 'null', '{"a":{"b":[{}]}}']) {
        if (body === '{}' && r.body?.safeParse({}).success) continue;
        const res = await call(r, {
          headers: { authorization: `Bearer ${tokens.get(role)}`, 'content-type': 'application/json' },
          body,
        });
        expect(res.status, `${label(r)} with ${body}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${label(r)} with ${body}`).toBeLessThan(500);
        const error = (await json(res)).error as { code: string; message: string };
        expect(error.message.length, label(r)).toBeGreaterThan(5);
      }
    }
    const bad = await t.cloud.app.request(
      '/api/v1/sites',
      authed(tokens.get('admin') as string, { id: 'has space', name: '' }),
    );
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('invalid body: id:'),
    });
  }, 300_000);

  it('limits users with a site list to their sites', async () => {
    const s = t.cloud.services;
    await s.registry.createSite({ id: 'north', name: 'North' });
    await s.registry.createSite({ id: 'south', name: 'South' });
    const northOnly = await t.token('staff', ['north']);
    const sites = await json(await t.cloud.app.request('/api/v1/sites', authed(northOnly, undefined, 'GET')));
    expect((sites.sites as { id: string }[]).map((x) => x.id)).toEqual(['north']);
    expect(
      (await t.cloud.app.request('/api/v1/sites/south/layout', authed(northOnly, undefined, 'GET'))).status,
    ).toBe(403);
    expect(
      (await t.cloud.app.request('/api/v1/sites/north/layout', authed(northOnly, undefined, 'GET'))).status,
    ).toBe(200);
  });
});

describe('people and partners', () => {
  it('logs in, refreshes with rotation, logs out', async () => {
    const app = t.cloud.app;
    const wrong = await app.request(
      '/api/v1/auth/login',
      authed('', { email: 'root@test.local', password: 'nope-nope-nope' }),
    );
    expect(wrong.status).toBe(401);
    const login = await json(
      await app.request(
        '/api/v1/auth/login',
        authed('', { email: 'root@test.local', password: 'root-password-1' }),
      ),
    );
    expect(login.user).toMatchObject({ email: 'root@test.local', role: 'admin' });
    const me = await json(
      await app.request('/api/v1/auth/me', authed(login.accessToken as string, undefined, 'GET')),
    );
    expect(me.email).toBe('root@test.local');
    const refreshed = await json(
      await app.request('/api/v1/auth/refresh', authed('', { refreshToken: login.refreshToken })),
    );
    expect(refreshed.accessToken).toBeTypeOf('string');
    // The spent refresh token does not work twice.
    expect(
      (await app.request('/api/v1/auth/refresh', authed('', { refreshToken: login.refreshToken }))).status,
    ).toBe(401);
    await app.request('/api/v1/auth/logout', authed('', { refreshToken: refreshed.refreshToken }));
    expect(
      (await app.request('/api/v1/auth/refresh', authed('', { refreshToken: refreshed.refreshToken })))
        .status,
    ).toBe(401);
  });

  it('registers only through an admin invitation, once', async () => {
    const app = t.cloud.app;
    const operatorTry = await app.request(
      '/api/v1/users/invitations',
      authed(tokens.get('operator') as string, { email: 'x@test.local', name: 'X', role: 'admin' }),
    );
    expect(operatorTry.status).toBe(403);
    const invite = await json(
      await app.request(
        '/api/v1/users/invitations',
        authed(tokens.get('admin') as string, { email: 'new@test.local', name: 'New', role: 'staff' }),
      ),
    );
    const short = await app.request(
      '/api/v1/auth/register',
      authed('', { inviteToken: invite.inviteToken, password: 'short' }),
    );
    expect(short.status).toBe(400);
    const ok = await app.request(
      '/api/v1/auth/register',
      authed('', { inviteToken: invite.inviteToken, password: 'long-enough-pw' }),
    );
    expect(ok.status).toBe(201);
    expect((await json(ok)).user).toMatchObject({ email: 'new@test.local', role: 'staff', status: 'active' });
    const twice = await app.request(
      '/api/v1/auth/register',
      authed('', { inviteToken: invite.inviteToken, password: 'long-enough-pw' }),
    );
    expect(twice.status).toBe(401);
  });

  it('gives partners API keys that act with the partner role until revoked', async () => {
    const app = t.cloud.app;
    const created = await json(
      await app.request('/api/v1/api-keys', authed(tokens.get('partner') as string, { name: 'shop' })),
    );
    const key = created.key as string;
    expect(key.startsWith('bvk_')).toBe(true);
    expect((await app.request('/api/v1/products', { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await app.request('/api/v1/products', authed(key, undefined, 'GET'))).status).toBe(200);
    expect((await app.request('/api/v1/gateways', authed(key, undefined, 'GET'))).status).toBe(403);
    const id = (created.apiKey as { id: string }).id;
    await app.request(`/api/v1/api-keys/${id}`, authed(tokens.get('partner') as string, undefined, 'DELETE'));
    expect((await app.request('/api/v1/products', { headers: { 'x-api-key': key } })).status).toBe(401);
  });

  it('publishes the JWKS and an OpenAPI document covering every route', async () => {
    const jwks = await json(await t.cloud.app.request('/.well-known/jwks.json'));
    expect((jwks.keys as { kid: string; d?: string }[])[0]).toMatchObject({
      kid: t.cloud.services.keys.current.kid,
    });
    expect((jwks.keys as { d?: string }[])[0]?.d).toBeUndefined();
    const doc = await json(await t.cloud.app.request('/openapi.json'));
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    for (const r of t.cloud.routes) {
      expect(paths[r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method], label(r)).toBeDefined();
    }
    expect(paths['/api/v1/provision']?.post).toMatchObject({ requestBody: { required: true } });
  });
});
