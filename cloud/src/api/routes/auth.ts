import { ForbiddenError } from '@bitv/shared';
import { roles } from '@bitv/shared/auth';
import { z } from 'zod';
import type { Session } from '../../auth/users.js';
import { throttledLogin } from '../login.js';
import { ok, route } from '../route.js';
import { sessionSchema, userSchema } from '../schemas.js';
import type { CoreServices } from '../services.js';

const everyone = ['staff', 'operator', 'partner', 'admin'] as const;

export function sessionBody(s: Session): z.infer<typeof sessionSchema> {
  return {
    accessToken: s.access.token,
    accessTokenExpiresAt: s.access.expiresAt.toISOString(),
    refreshToken: s.refresh.token,
    refreshTokenExpiresAt: s.refresh.expiresAt.toISOString(),
    user: s.user,
  };
}

const password = z.string().min(10, 'at least 10 characters').max(200);
const refreshBody = z.object({ refreshToken: z.string().min(1) });
const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  ownerId: z.string(),
  role: z.enum(roles),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export function authRoutes(s: CoreServices) {
  return [
    route({
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Log in with email and password; returns an access and a refresh token',
      tag: 'auth',
      access: 'public',
      body: z.object({ email: z.string().email(), password: z.string().min(1).max(200) }),
      response: sessionSchema,
      errors: { '429': 'too many failed logins for this account or address (see Retry-After)' },
      handler: async ({ body, c }) => sessionBody(await throttledLogin(s, c, body.email, body.password)),
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/refresh',
      summary: 'Exchange a refresh token for a new pair (the old refresh token is spent)',
      tag: 'auth',
      access: 'public',
      body: refreshBody,
      response: sessionSchema,
      handler: async ({ body }) => sessionBody(await s.users.refresh(body.refreshToken)),
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'Revoke a refresh token',
      tag: 'auth',
      access: 'public',
      body: refreshBody,
      response: ok,
      handler: async ({ body }) => {
        await s.users.logout(body.refreshToken);
        return { ok: true as const };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Accept an invitation: set a password and activate the account',
      tag: 'auth',
      access: 'public',
      body: z.object({
        inviteToken: z.string().min(1),
        password,
        name: z.string().min(1).max(200).optional(),
      }),
      response: sessionSchema,
      status: 201,
      handler: async ({ body }) => sessionBody(await s.users.register(body)),
    }),
    route({
      method: 'get',
      path: '/api/v1/auth/me',
      summary: 'The calling user',
      tag: 'auth',
      access: everyone,
      response: userSchema,
      handler: async ({ principal }) => {
        if (principal.kind !== 'user') throw new ForbiddenError('only a user token has a user');
        return s.users.get(principal.id);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/users/invitations',
      summary: 'Invite a person (admins only); the invite token goes to them out of band',
      tag: 'auth',
      access: ['admin'],
      body: z.object({
        email: z.string().email(),
        name: z.string().min(1).max(200),
        role: z.enum(roles),
        sites: z.array(z.string().min(1)).optional(),
      }),
      response: z.object({ user: userSchema, inviteToken: z.string(), expiresAt: z.string() }),
      status: 201,
      handler: async ({ body }) => {
        const invited = await s.users.invite(body);
        return { ...invited, expiresAt: invited.expiresAt.toISOString() };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/users',
      summary: 'Every user',
      tag: 'auth',
      access: ['admin'],
      response: z.object({ users: z.array(userSchema) }),
      handler: async () => ({ users: await s.users.list() }),
    }),
    route({
      method: 'post',
      path: '/api/v1/api-keys',
      summary: 'Create a partner API key (shown once)',
      tag: 'auth',
      access: ['partner', 'admin'],
      body: z.object({ name: z.string().min(1).max(200) }),
      response: z.object({ key: z.string(), apiKey: apiKeySchema }),
      status: 201,
      handler: async ({ body, principal }) => {
        if (principal.kind !== 'user') throw new ForbiddenError('API keys are created with a user token');
        return s.apiKeys.create(principal.id, body.name);
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/api-keys',
      summary: "The caller's API keys (all keys for admins)",
      tag: 'auth',
      access: ['partner', 'admin'],
      response: z.object({ apiKeys: z.array(apiKeySchema) }),
      handler: async ({ principal }) => {
        const owner = principal.kind === 'api-key' ? principal.ownerId : principal.id;
        const all = principal.kind === 'user' && principal.role === 'admin';
        return { apiKeys: await s.apiKeys.list(all ? undefined : owner) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/api-keys/:id',
      summary: 'Revoke an API key',
      tag: 'auth',
      access: ['partner', 'admin'],
      params: z.object({ id: z.string().uuid() }),
      response: ok,
      handler: async ({ params, principal }) => {
        const owner = principal.kind === 'api-key' ? principal.ownerId : principal.id;
        const all = principal.kind === 'user' && principal.role === 'admin';
        await s.apiKeys.revoke(params.id, all ? undefined : owner);
        return { ok: true as const };
      },
    }),
    route({
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys of the registry (verifies device credentials and user tokens)',
      tag: 'auth',
      access: 'public',
      response: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
      handler: async () => s.keys.jwks() as { keys: Record<string, unknown>[] },
    }),
  ];
}
