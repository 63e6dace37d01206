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
  capacity_exceeded: 429,
  unavailable: 503,
  timeout: 504,
};

export function errorJson(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return details ? { error: { code, message, details } } : { error: { code, message } };
}

/** Turns any thrown value into the JSON error shape; unknown errors are logged and hidden as 500. */
export function errorResponse(c: Context, error: unknown, logger: Logger): Response {
  if (error instanceof BitvError) {
    const status = statusByCode[error.code] ?? 500;
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, 'request failed');
    return c.json(errorJson(error.code, error.message, error.details), status);
  }
  logger.error({ err: error, path: c.req.path, method: c.req.method }, 'unexpected error');
  return c.json(errorJson('internal', 'internal error'), 500);
}
