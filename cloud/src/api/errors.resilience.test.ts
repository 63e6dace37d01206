import { silentLogger } from '@bitv/shared/log';
import { dependencyPolicy } from '@bitv/shared/resilience';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorBody, errorResponse } from './errors.js';

/**
 * The degraded mode: a route whose dependency is failing answers at once with 503 and
 * Retry-After (an open breaker, a full bulkhead) or 504 (a timeout), never hangs.
 */
function appWith(
  policy: ReturnType<typeof dependencyPolicy>,
  call: (signal: AbortSignal) => Promise<string>,
) {
  const app = new Hono();
  app.onError((error, c) => errorResponse(c, error, silentLogger));
  app.get('/pay', async (c) => c.text(await policy.execute(call)));
  return app;
}

describe('API error mapper on dependency policy errors', () => {
  it('an open breaker answers 503 with Retry-After = the time until the trial call', async () => {
    const policy = dependencyPolicy({
      name: 'soap-bank',
      timeoutMs: 1_000,
      breaker: { consecutiveFailures: 1, halfOpenAfterMs: 20_000 },
    });
    const app = appWith(policy, () =>
      Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    );
    const first = await app.request('/pay');
    expect(first.status).toBe(500); // the dependency's own failure, not ours to explain
    expect(policy.state).toBe('open');
    const degraded = await app.request('/pay');
    expect(degraded.status).toBe(503);
    expect(Number(degraded.headers.get('Retry-After'))).toBeGreaterThanOrEqual(19);
    expect(Number(degraded.headers.get('Retry-After'))).toBeLessThanOrEqual(20);
    const body = errorBody.parse(await degraded.json());
    expect(body.error).toMatchObject({
      code: 'unavailable',
      details: { dependency: 'soap-bank', reason: 'circuit_open' },
    });
  });

  it('a full bulkhead answers 503 with Retry-After: 1', async () => {
    const policy = dependencyPolicy({ name: 'rest-pay', timeoutMs: 5_000, bulkhead: { limit: 1, queue: 0 } });
    let release = () => {};
    const app = appWith(
      policy,
      () =>
        new Promise<string>((resolve) => {
          release = () => resolve('ok');
        }),
    );
    const busy = app.request('/pay');
    await new Promise((r) => setTimeout(r, 10));
    const refused = await app.request('/pay');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('1');
    release();
    expect((await busy).status).toBe(200);
  });

  it('a timeout answers 504 without waiting for the dependency', async () => {
    const policy = dependencyPolicy({ name: 'slow', timeoutMs: 50, breaker: false });
    const app = appWith(
      policy,
      (signal) =>
        new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const response = await app.request('/pay');
    expect(response.status).toBe(504);
    expect(errorBody.parse(await response.json()).error.code).toBe('timeout');
  });
});
