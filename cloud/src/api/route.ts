import { ForbiddenError, ValidationError } from '@bitv/shared';
import { formatIssue } from '@bitv/shared/events';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { defaultMaxBodyBytes, limitBody } from './middleware/body-limit.js';
import type { Access, Principal } from './principal.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  c: Context;
}

/**
 * One API operation: its path, who may call it, the schemas of what it takes and gives, and the
 * handler. The same object registers the Hono route, builds its OpenAPI entry, and drives the
 * authorisation tests (every route refuses missing, expired and wrong-role tokens).
 */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown, R = unknown> {
  method: Method;
  /** Hono path syntax, `/api/v1/gateways/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response: z.ZodType<R>;
  status?: ContentfulStatusCode;
  /** Largest body this route reads (default `defaultMaxBodyBytes`); larger ones get 413. */
  maxBodyBytes?: number;
  /** Error answers beyond the ones every route has (400, 401, 403, 413), for the OpenAPI entry. */
  errors?: Partial<Record<'404' | '409' | '429', string>>;
  handler: (input: RouteInput<P, Q, B>) => Promise<R>;
}

// Routes are stored type-erased; `route()` checks each one's handler against its own schemas.
export type AnyRoute = RouteSpec<unknown, unknown, unknown, unknown>;

export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined, R = unknown>(
  spec: RouteSpec<P, Q, B, R>,
): AnyRoute {
  return spec as unknown as AnyRoute;
}

export type Authenticate = (c: Context, access: Access) => Promise<Principal | undefined>;

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(`invalid ${where}: ${result.error.issues.map(formatIssue).join('; ')}`, {
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return result.data;
}

async function readBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('request body is not valid JSON');
  }
}

/** Registers the routes on `app`; `authenticate` resolves the caller (or throws 401). */
export function mountRoutes(app: Hono, routes: readonly AnyRoute[], authenticate: Authenticate): void {
  for (const r of routes) {
    app.on(r.method.toUpperCase(), r.path, limitBody(r.maxBodyBytes ?? defaultMaxBodyBytes), async (c) => {
      const principal = await authenticate(c, r.access);
      if (r.access !== 'public' && !principal) throw new ForbiddenError('not allowed');
      const params = r.params ? parse(r.params, c.req.param(), 'path parameters') : {};
      const query = r.query ? parse(r.query, c.req.query(), 'query') : {};
      const body = r.body ? parse(r.body, await readBody(c), 'body') : undefined;
      const result = await r.handler({ params, query, body, principal: principal as Principal, c });
      if (result instanceof Response) return result;
      return c.json(result as object, r.status ?? 200);
    });
  }
}

export const idParam = z.object({ id: z.string().min(1).max(128) });
export const ok = z.object({ ok: z.literal(true) });
