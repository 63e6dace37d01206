import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReport, OpsServer, OpsServerOptions } from '@bitv/shared/ops';

/**
 * `/healthz` (200 or 503 with a JSON report) and `/metrics` (Prometheus text), with the routes,
 * status codes, bodies and content types of `startOpsServer` from `@bitv/shared/ops`, written on
 * node:http alone. The shared server answers through WHATWG `Response`, whose first use loads the
 * undici bundled in Node: ~5 MB resident from the first scrape on, measured with bench/run.ts, in
 * a process that must stay under 64 MB on the gateway.
 */
export async function startAgentOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    answer(options, req, res).catch((error: unknown) => {
      // The check or the registry threw after the headers were chosen: report it as the shared server does.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function answer(options: OpsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const text = 'text/plain;charset=UTF-8';
  if (req.method !== 'GET') return send(res, 405, text, 'method not allowed\n');
  if (path === '/healthz') {
    let report: HealthReport;
    try {
      report = await options.health();
    } catch (error) {
      report = { ok: false, checks: { error: String(error) } };
    }
    return send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(report));
  }
  if (path === '/metrics')
    return send(res, 200, options.registry.contentType, await options.registry.metrics());
  return send(res, 404, text, 'not found\n');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(bytes);
}
