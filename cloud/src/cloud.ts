import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './api/app.js';
import { principalOf } from './api/authenticate.js';
import type { AnyRoute } from './api/route.js';
import type { Services } from './api/services.js';
import { type CloudConfig, cloudDefaults } from './config.js';
import { startConsumers } from './consumers.js';
import { type DemoInput, type DemoSeeded, seedDemo } from './demo/seed.js';
import { startGrpcServer } from './grpc/server.js';
import { attachLiveServer } from './live/ws.js';
import { createServices, type ServiceDeps } from './services.js';

export interface CloudHandle {
  /** Base URL of the API, dashboard and WebSocket (`ws` + url + `/api/v1/live`). */
  url: string;
  /** `host:port` of the gRPC InventoryService, when enabled. */
  grpcUrl?: string;
  /** JWKS of the registry, for the broker. */
  jwksUrl: string;
  /** The first admin's credentials when this start created them with a generated password (print once). */
  bootstrapAdmin?: { email: string; password: string };
  app: Hono;
  routes: AnyRoute[];
  services: Services;
  seedDemo(input: DemoInput): Promise<DemoSeeded>;
  /** A one-time claim token for a gateway (e.g. the demo gateway), valid `ttlSeconds`. */
  createClaimToken(input: { siteId: string; gatewayId?: string; ttlSeconds?: number }): Promise<string>;
  /** The broker starts after the cloud: tell the cloud the URL it hands to provisioned gateways. */
  setBrokerUrl(url: string): void;
  close(): Promise<void>;
}

/**
 * Starts the cloud: migrations, services, event-log consumers, the HTTP server (REST API,
 * OpenAPI, dashboard, `/healthz`, `/metrics`), the live WebSocket and the gRPC server.
 */
export async function startCloud(config: Partial<CloudConfig>, deps: ServiceDeps): Promise<CloudHandle> {
  const cfg: CloudConfig = { ...cloudDefaults, ...config };
  const logger = deps.logger;
  const services = await createServices(cfg, deps);
  let bootstrapAdmin: CloudHandle['bootstrapAdmin'];
  if (cfg.admin && (await services.users.count()) === 0) {
    const password = cfg.admin.password ?? randomBytes(12).toString('base64url');
    await services.users.create({ email: cfg.admin.email, name: 'Administrator', role: 'admin', password });
    if (!cfg.admin.password) bootstrapAdmin = { email: cfg.admin.email, password };
    logger.info({ email: cfg.admin.email }, 'first admin created');
  }
  const subscriptions = await startConsumers(services, cfg.consumers);
  const timers = [
    setInterval(() => {
      services.commands
        .expireDue()
        .catch((error: unknown) => logger.warn({ err: error }, 'command expiry failed'));
    }, 2_000),
    setInterval(() => {
      services.reservations
        .expireReservations()
        .catch((error: unknown) => logger.warn({ err: error }, 'reservation expiry failed'));
    }, 30_000),
  ];
  for (const t of timers) t.unref();
  const { app, routes } = createApp(services);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }, () =>
      resolve(s as Server),
    ) as Server;
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
  const url = `http://${host}:${port}`;
  const live = attachLiveServer(server, {
    hub: services.hub,
    resolve: (c) => principalOf(c, services),
    logger,
  });
  const grpc =
    cfg.grpcPort !== undefined && cfg.grpcPort >= 0
      ? await startGrpcServer(services, cfg.host, cfg.grpcPort)
      : undefined;
  logger.info(
    { url, grpc: grpc?.url, database: deps.database.kind, eventLog: deps.eventLog.kind },
    'cloud started',
  );
  let closed = false;
  return {
    url,
    ...(grpc ? { grpcUrl: grpc.url } : {}),
    jwksUrl: `${url}/.well-known/jwks.json`,
    ...(bootstrapAdmin ? { bootstrapAdmin } : {}),
    app,
    routes,
    services,
    seedDemo: (input) => seedDemo(services, input),
    createClaimToken: async ({ siteId, gatewayId, ttlSeconds }) => {
      const { tokens } = await services.provisioning.createClaimTokens({
        siteId,
        ...(gatewayId ? { gatewayIds: [gatewayId] } : { count: 1 }),
        ttlSeconds: ttlSeconds ?? 3600,
        createdBy: 'launcher',
      });
      return (tokens[0] as { token: string }).token;
    },
    setBrokerUrl: (brokerUrl) => services.provisioning.setBrokerUrl(brokerUrl),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(subscriptions.map((s) => s.close()));
      await live.close();
      await grpc?.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
