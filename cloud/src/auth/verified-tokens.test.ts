import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import type { KeyStore } from './keys.js';
import { Tokens } from './tokens.js';
import { VerifiedTokens } from './verified-tokens.js';

/** A cache on a hand-moved clock (no real time passes). */
function cache(maxEntries: number) {
  let now = 1_000;
  const c = new VerifiedTokens<{ sub: string; exp: number }>(maxEntries, () => now);
  return { c, at: (seconds: number) => (now = seconds) };
}

describe('verified token cache', () => {
  it('answers until the token expires, then forgets it', () => {
    const { c, at } = cache(10);
    c.set('t1', { sub: 'a', exp: 1_010 });
    expect(c.get('t1')?.sub).toBe('a');
    at(1_009.9);
    expect(c.get('t1')?.sub).toBe('a');
    at(1_010);
    expect(c.get('t1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('is bounded: the oldest entry goes first', () => {
    const { c } = cache(2);
    c.set('t1', { sub: 'a', exp: 2_000 });
    c.set('t2', { sub: 'b', exp: 2_000 });
    c.set('t3', { sub: 'c', exp: 2_000 });
    expect(c.size).toBe(2);
    expect(c.get('t1')).toBeUndefined();
    expect(c.get('t3')?.sub).toBe('c');
  });

  it('size 0 keeps nothing', () => {
    const { c } = cache(0);
    c.set('t1', { sub: 'a', exp: 2_000 });
    expect(c.get('t1')).toBeUndefined();
  });
});

async function keyStore(): Promise<KeyStore> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  return {
    current: { kid: 'k1', alg: 'ES256', privateKey, publicJwk },
    jwks: () => ({ keys: [publicJwk] }),
    publicKey: async (kid) => (kid === 'k1' ? publicKey : undefined),
  };
}

const settings = { issuer: 'test', accessTtlSeconds: 60, refreshTtlSeconds: 60, deviceTtlSeconds: 60 };

describe('access tokens with the cache', () => {
  it('a verified token verifies again from the cache; an altered one is still refused', async () => {
    const tokens = new Tokens(await keyStore(), settings);
    const { token } = await tokens.accessToken({ id: 'u1', role: 'partner', sites: null });
    expect((await tokens.verifyAccess(token)).sub).toBe('u1');
    expect((await tokens.verifyAccess(token)).sub).toBe('u1');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${signature}`;
    await expect(tokens.verifyAccess(forged)).rejects.toThrow('invalid token');
  });

  it('an expired token is refused even after it was verified', async () => {
    const tokens = new Tokens(await keyStore(), { ...settings, accessTtlSeconds: 1 });
    const { token, expiresAt } = await tokens.accessToken({ id: 'u1', role: 'partner', sites: null });
    expect((await tokens.verifyAccess(token)).sub).toBe('u1');
    // Wait (bounded) until the clock is past the token's expiry; no latency is asserted.
    for (let i = 0; i < 40 && Date.now() < expiresAt.getTime() + 50; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(tokens.verifyAccess(token)).rejects.toThrow('token expired');
  });
});
