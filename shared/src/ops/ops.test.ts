import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, gauge } from '../metrics/index.js';
import { healthResponse, startOpsServer } from './index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function answers(url: string, method = 'GET') {
  const r = await fetch(url, { method });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

describe('ops server', () => {
  it('serves /healthz and /metrics, refuses other methods and paths', async () => {
    const registry = createRegistry();
    gauge(registry, 'bv_test_value', 'a value').set(3);
    let healthy = true;
    const health = () => {
      if (!healthy) throw new Error('check broke');
      return { ok: true, checks: { outbox: { depth: 7 } } };
    };
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0, registry, health });
    closers.push(ops.close);

    expect(await answers(`${ops.url}/healthz?verbose=1`)).toEqual({
      status: 200,
      type: 'application/json',
      body: JSON.stringify({ ok: true, checks: { outbox: { depth: 7 } } }),
    });
    const metrics = await answers(`${ops.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toBe(registry.contentType);
    expect(metrics.body).toContain('bv_test_value 3');
    expect((await answers(`${ops.url}/nope`)).status).toBe(404);
    expect((await answers(`${ops.url}/healthz`, 'POST')).status).toBe(405);

    healthy = false;
    const broken = await answers(`${ops.url}/healthz`);
    expect(broken.status).toBe(503);
    expect(JSON.parse(broken.body)).toEqual({ ok: false, checks: { error: 'Error: check broke' } });
  });

  it('gives Hono services the same health report through a Response', async () => {
    const response = await healthResponse(() => ({ ok: false, checks: { database: 'down' } }));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ ok: false, checks: { database: 'down' } });
  });
});
