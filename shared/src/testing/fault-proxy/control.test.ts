import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startControl } from './control.js';
import { FaultProxy } from './proxy.js';

describe('fault proxy control API (Toxiproxy-shaped)', () => {
  let upstream: Server;
  let proxy: FaultProxy;
  let control: Awaited<ReturnType<typeof startControl>>;

  beforeEach(async () => {
    upstream = createServer((s) => s.on('error', () => {}).pipe(s));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = await FaultProxy.start({
      upstream: { host: '127.0.0.1', port: (upstream.address() as { port: number }).port },
    });
    control = await startControl(proxy);
  });
  afterEach(async () => {
    await control.close();
    await proxy.close();
    upstream.close();
  });

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${control.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('adds, lists and removes toxics; disable and enable; stats, healthz and metrics', async () => {
    const added = await call('POST', '/toxics', {
      type: 'latency',
      name: 'slow',
      attributes: { latency: 100 },
    });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
    });
    expect(((await (await call('GET', '/toxics')).json()) as unknown[]).length).toBe(1);
    expect((await call('DELETE', '/toxics/slow')).status).toBe(204);
    expect(proxy.toxics()).toEqual([]);

    expect(await (await call('POST', '/disable')).json()).toEqual({ enabled: false });
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    expect(await (await call('POST', '/enable')).json()).toEqual({ enabled: true });

    expect(await (await call('GET', '/healthz')).json()).toEqual({ ok: true, enabled: true });
    expect(await (await call('GET', '/stats')).json()).toMatchObject({ enabled: true, connectionsTotal: 0 });
    expect(await (await call('GET', '/metrics')).text()).toContain('bv_fault_proxy_enabled 1');
  });

  it('answers bad requests with 400 and a reason, and keeps serving', async () => {
    const bad = await call('POST', '/toxics', { type: 'meteor', attributes: {} });
    expect(bad.status).toBe(400);
    const notJson = await call('POST', '/toxics', 'not json');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'body is not JSON' });
    const big = await call('POST', '/toxics', JSON.stringify('x'.repeat(20_000)));
    expect(big.status).toBe(400);
    expect(await big.json()).toEqual({ error: 'body over 16384 bytes' });
    expect(await call('DELETE', '/toxics/none').then((r) => r.status)).toBe(400);
    expect(await call('GET', '/nope').then((r) => r.status)).toBe(404);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
