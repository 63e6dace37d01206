import { BitvError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { statusOf } from '../api/errors.js';
import { Layout } from './layout.js';

// Paths that answer machines: they keep JSON errors whatever the Accept header says.
const machinePaths = /^\/(api\/|openapi\.json$|healthz$|metrics$|\.well-known\/)/;

/** A browser navigating to a page (not a script calling the API) gets HTML errors. */
export function wantsPage(c: Context): boolean {
  if (machinePaths.test(c.req.path)) return false;
  return (c.req.header('accept') ?? '').includes('text/html');
}

const titles: Partial<Record<number, string>> = {
  400: 'That request did not make sense',
  403: 'Not for your account',
  404: 'Page not found',
  409: 'That changed meanwhile',
  413: 'That was too large',
  429: 'Too many attempts',
  503: 'Something we depend on is down',
};

function ErrorPage(props: { status: number; message: string; path: string }) {
  return (
    <div class="login" data-testid="error-page" style="max-width:480px">
      <h1>
        Bit<span style="color:#2f6fed">Velocity</span>
      </h1>
      <div class="sub" data-testid="error-status">
        {props.status} · {titles[props.status] ?? 'Something went wrong'}
      </div>
      <p data-testid="error-message">{props.message}</p>
      <p class="none">
        <code>{props.path}</code>
      </p>
      <p>
        <a href="/" data-testid="error-home">
          ← Back to the dashboard
        </a>
      </p>
    </div>
  );
}

export function errorPage(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
): Response | Promise<Response> {
  return c.html(
    <Layout title={titles[status] ?? 'Error'}>
      <ErrorPage status={status} message={message} path={c.req.path} />
    </Layout>,
    status,
  );
}

export function notFoundPage(c: Context): Response | Promise<Response> {
  return errorPage(c, 404, 'There is no page at this address. It may have moved, or the link is mistyped.');
}

/** The HTML twin of `errorResponse`: known errors show their message, others are logged and hidden. */
export function errorPageOf(c: Context, error: unknown, logger: Logger): Response | Promise<Response> {
  if (error instanceof BitvError) {
    const status = statusOf(error.code);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, 'page failed');
    return errorPage(c, status, error.message);
  }
  logger.error({ err: error, path: c.req.path, method: c.req.method }, 'unexpected error');
  return errorPage(c, 500, 'The server failed to answer this page. It has been logged; try again shortly.');
}
