import { ForbiddenError, UnauthenticatedError } from '@bitv/shared';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { type ApiKeys, apiKeyPrefix } from '../auth/api-keys.js';
import type { Tokens } from '../auth/tokens.js';
import type { Access, Principal } from './principal.js';
import type { Authenticate } from './route.js';

export const accessCookie = 'bv_access';
export const refreshCookie = 'bv_refresh';

/** Where a request's credential is: `Authorization: Bearer`, `X-API-Key`, or the dashboard's cookie. */
export function credentialOf(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthenticatedError('Authorization header must be "Bearer <token>"');
    return match[1];
  }
  const key = c.req.header('x-api-key');
  if (key) return key;
  const cookie = getCookie(c, accessCookie);
  if (cookie && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    // The cookie is SameSite=Strict already; refusing a foreign Origin also covers old browsers.
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      throw new ForbiddenError('cross-site request refused');
    }
  }
  return cookie;
}

/** Resolves a token or API key to the principal it stands for. */
export async function principalOf(
  credential: string,
  deps: { tokens: Tokens; apiKeys: ApiKeys },
): Promise<Principal> {
  if (credential.startsWith(`${apiKeyPrefix}_`)) {
    const key = await deps.apiKeys.resolve(credential);
    if (!key) throw new UnauthenticatedError('unknown or revoked API key');
    return { kind: 'api-key', id: key.id, ownerId: key.ownerId, role: key.role, sites: null };
  }
  const claims = await deps.tokens.verifyAccess(credential);
  return { kind: 'user', id: claims.sub, role: claims.role, sites: claims.sites ?? null };
}

/**
 * The one authentication step of every route: public routes pass; gateway routes need a device
 * credential that is not revoked; the others need a user token or API key whose role is listed.
 */
export function authenticator(deps: {
  tokens: Tokens;
  apiKeys: ApiKeys;
  /** Whether a device credential is still valid (the registry keeps them). */
  isCredentialActive(jti: string): Promise<boolean>;
}): Authenticate {
  return async function authenticate(c: Context, access: Access): Promise<Principal | undefined> {
    if (access === 'public') return undefined;
    const credential = credentialOf(c);
    if (!credential) throw new UnauthenticatedError('missing credentials');
    if (access === 'gateway') {
      const claims = await deps.tokens.verifyDevice(credential);
      if (!(await deps.isCredentialActive(claims.jti))) throw new UnauthenticatedError('credential revoked');
      return { kind: 'gateway', id: claims.sub, groupId: claims.group, jti: claims.jti };
    }
    const principal = await principalOf(credential, deps);
    if (principal.kind === 'gateway' || !access.includes(principal.role)) {
      throw new ForbiddenError(
        `role ${principal.kind === 'gateway' ? 'gateway' : principal.role} may not do this`,
      );
    }
    return principal;
  };
}
