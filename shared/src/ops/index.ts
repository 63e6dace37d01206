import { createServer, type Server } from 'node:http';
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

/**
 * `/healthz` (200 or 503 with a JSON report) and `/metrics` (Prometheus text) for processes that
 * have no HTTP API of their own (edge agent, gateway, simulator). Services built on Hono mount
 * the same two routes through `healthResponse` and `metricsResponse` instead.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const respond = async (): Promise<Response> => {
      if (req.method !== 'GET') return new Response('method not allowed\n', { status: 405 });
      if (path === '/healthz') return healthResponse(options.health);
      if (path === '/metrics') return metricsResponse(options.registry);
      return new Response('not found\n', { status: 404 });
    };
    respond()
      .then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
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

export async function healthResponse(check: HealthCheck): Promise<Response> {
  let report: HealthReport;
  try {
    report = await check();
  } catch (error) {
    report = { ok: false, checks: { error: String(error) } };
  }
  return Response.json(report, { status: report.ok ? 200 : 503 });
}

export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
