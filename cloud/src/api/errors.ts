import { BitvError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

/** Every error the API returns has this shape; `code` is stable, `message` is for people. */
export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;

const statusByCode: Record<string, ContentfulStatusCode> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  capacity_exceeded: 429,
  too_many_attempts: 429,
  unavailable: 503,
  timeout: 504,
};

export function errorJson(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return details ? { error: { code, message, details } } : { error: { code, message } };
}

/** The HTTP status of an error code (500 for codes the API does not know). */
export function statusOf(code: string): ContentfulStatusCode {
  return statusByCode[code] ?? 500;
}

/** Turns any thrown value into the JSON error shape; unknown errors are logged and hidden as 500. */
export function errorResponse(c: Context, error: unknown, logger: Logger): Response {
  if (error instanceof BitvError) {
    const status = statusOf(error.code);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, 'request failed');
    // [RFC 9110 10.2.3] a 429 or 503 may say when to come back, in whole seconds.
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    return c.json(errorJson(error.code, error.message, error.details), status);
  }
  logger.error({ err: error, path: c.req.path, method: c.req.method }, 'unexpected error');
  return c.json(errorJson('internal', 'internal error'), 500);
}
