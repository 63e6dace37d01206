import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  ok: boolean;
  /** Per-dependency detail, e.g. `{ broker: 'connected', outbox: { depth: 12 } }`. */
  checks: Record<string, unknown>;
}

export type HealthCheck = () => HealthReport | Promise<HealthReport>;

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  health: HealthCheck;
}

export interface OpsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const textType = 'text/plain;charset=UTF-8';

/**
 * `/healthz` (200 or 503 with a JSON report) and `/metrics` (Prometheus text) for processes that
 * have no HTTP API of their own (edge agent, gateway, simulator). Services built on Hono mount
 * the same two routes through `healthResponse` and `metricsResponse` instead.
 *
 * Written on node:http alone, not through WHATWG `Response`: its first use loads the undici bundled
 * in Node, ~5 MB resident from the first scrape on, in an edge agent that must stay under 64 MB.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    answer(options, req, res).catch((error: unknown) => {
      // The registry failed while collecting: say so rather than leave the scraper hanging.
      if (!res.headersSent) res.writeHead(500, { 'content-type': textType });
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
  if (req.method !== 'GET') return send(res, 405, textType, 'method not allowed\n');
  if (path === '/healthz') {
    const report = await checkHealth(options.health);
    return send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(report));
  }
  if (path === '/metrics')
    return send(res, 200, options.registry.contentType, await options.registry.metrics());
  return send(res, 404, textType, 'not found\n');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(bytes);
}

/** Runs a health check; a check that throws is an unhealthy report, never an exception. */
export async function checkHealth(check: HealthCheck): Promise<HealthReport> {
  try {
    return await check();
  } catch (error) {
    return { ok: false, checks: { error: String(error) } };
  }
}

export async function healthResponse(check: HealthCheck): Promise<Response> {
  const report = await checkHealth(check);
  return Response.json(report, { status: report.ok ? 200 : 503 });
}

export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
