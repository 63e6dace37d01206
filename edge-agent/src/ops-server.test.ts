import { createRegistry, gauge } from '@bitv/shared/metrics';
import { startOpsServer } from '@bitv/shared/ops';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgentOpsServer } from './ops-server.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function answers(url: string, method = 'GET') {
  const r = await fetch(url, { method });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

describe('agent ops server', () => {
  it('answers every route as the shared ops server does', async () => {
    const registry = createRegistry();
    gauge(registry, 'bv_edge_test_value', 'a value').set(3);
    let healthy = true;
    const health = () => {
      if (!healthy) throw new Error('check broke');
      return { ok: true, checks: { outbox: { depth: 7 } } };
    };
    const ours = await startAgentOpsServer({ host: '127.0.0.1', port: 0, registry, health });
    closers.push(ours.close);
    const shared = await startOpsServer({ host: '127.0.0.1', port: 0, registry, health });
    closers.push(shared.close);
    const cases: [string, string][] = [
      ['/healthz', 'GET'],
      ['/healthz?x=1', 'GET'],
      ['/metrics', 'GET'],
      ['/nope', 'GET'],
      ['/healthz', 'POST'],
    ];
    for (const [path, method] of cases) {
      expect(await answers(`${ours.url}${path}`, method), `${method} ${path}`).toEqual(
        await answers(`${shared.url}${path}`, method),
      );
    }
    expect((await answers(`${ours.url}/metrics`)).body).toContain('bv_edge_test_value 3');
    healthy = false;
    const broken = await answers(`${ours.url}/healthz`);
    expect(broken).toEqual(await answers(`${shared.url}/healthz`));
    expect(broken.status).toBe(503);
    expect(JSON.parse(broken.body)).toEqual({ ok: false, checks: { error: 'Error: check broke' } });
  });
});
