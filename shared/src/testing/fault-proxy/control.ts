import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultProxy } from './proxy.js';
import type { ToxicInput } from './toxics.js';

/** Largest control request body: a toxic is a few hundred bytes. */
const maxBody = 16 * 1024;

/**
 * A small HTTP control API for a running fault proxy, shaped after Toxiproxy's
 * (`GET/POST /toxics`, `DELETE /toxics/<name>`), so a person or a script can inject faults into a
 * running platform: `POST /disable` / `POST /enable` (down / up), `GET /stats`, `GET /healthz`,
 * `GET /metrics` (Prometheus text: connections and bytes). Loopback only; bodies are JSON, bounded
 * and validated; a bad request gets 400 with the reason, never a crash.
 */
export async function startControl(
  proxy: FaultProxy,
  port = 0,
  host = '127.0.0.1',
): Promise<{
  url: string;
  close(): Promise<void>;
}> {
  const server: Server = createServer((req, res) => {
    handle(proxy, req, res).catch((error: unknown) =>
      send(res, 400, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(proxy: FaultProxy, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://control').pathname;
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/healthz') return send(res, 200, { ok: true, enabled: proxy.enabled });
  if (method === 'GET' && path === '/stats')
    return send(res, 200, { enabled: proxy.enabled, ...proxy.stats() });
  if (method === 'GET' && path === '/metrics') return sendText(res, metricsText(proxy));
  if (method === 'GET' && path === '/toxics') return send(res, 200, proxy.toxics());
  if (method === 'POST' && path === '/toxics')
    // addToxic validates the body with the toxic schema (zod)
    return send(res, 201, proxy.addToxic((await json(req)) as ToxicInput));
  if (method === 'DELETE' && path.startsWith('/toxics/')) {
    proxy.removeToxic(decodeURIComponent(path.slice('/toxics/'.length)));
    return send(res, 204, undefined);
  }
  if (method === 'DELETE' && path === '/toxics') {
    proxy.clearToxics();
    return send(res, 204, undefined);
  }
  if (method === 'POST' && path === '/disable') {
    await proxy.disable();
    return send(res, 200, { enabled: proxy.enabled });
  }
  if (method === 'POST' && path === '/enable') {
    await proxy.enable();
    return send(res, 200, { enabled: proxy.enabled });
  }
  send(res, 404, { error: `no route ${method} ${path}` });
}

async function json(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new Error(`body over ${maxBody} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' }).end(text);
}

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text);
}

function metricsText(proxy: FaultProxy): string {
  const s = proxy.stats();
  const lines = [
    ['bv_fault_proxy_enabled', 'gauge', 'Whether the proxy accepts connections', proxy.enabled ? 1 : 0],
    ['bv_fault_proxy_connections_total', 'counter', 'Connections accepted', s.connectionsTotal],
    ['bv_fault_proxy_connections_active', 'gauge', 'Connections open now', s.connectionsActive],
    ['bv_fault_proxy_upstream_bytes_total', 'counter', 'Bytes read from clients', s.bytesUpstream],
    ['bv_fault_proxy_downstream_bytes_total', 'counter', 'Bytes read from the upstream', s.bytesDownstream],
    ['bv_fault_proxy_resets_total', 'counter', 'Connections reset', s.resets],
    [
      'bv_fault_proxy_upstream_failures_total',
      'counter',
      'Upstream connections that failed',
      s.upstreamFailures,
    ],
    ['bv_fault_proxy_toxics', 'gauge', 'Toxics in force', proxy.toxics().length],
  ] as const;
  return lines
    .map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`)
    .join('');
}
