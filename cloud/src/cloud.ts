import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openCache } from '@bitv/shared/cache';
import { createEventStore } from '@bitv/shared/event-store';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './api/app.js';
import { principalOf } from './api/authenticate.js';
import type { AnyRoute } from './api/route.js';
import type { CoreServices, DomainServices, Services } from './api/services.js';
import { type CloudConfig, cloudDefaults } from './config.js';
import { consumerDefaults, startConsumers } from './consumers.js';
import { createDashboardKit } from './dashboard/kit.js';
import { apiNav } from './dashboard/routes.js';
import { type DemoInput, type DemoSeeded, seedDemo } from './demo/seed.js';
import { startGrpcServer } from './grpc/server.js';
import { attachLiveServer } from './live/ws.js';
import type { CloudModule, ModuleApis, ModuleContext, ModuleName, NavEntry } from './module.js';
import { type MountedModules, mountModules, resolveModules } from './modules.js';
import { createCoreServices, type ServiceDeps } from './services.js';
import { startTimers } from './timers.js';

export interface CloudHandle {
  /** Base URL of the API, dashboard and WebSocket (`ws` + url + `/api/v1/live`). */
  url: string;
  /** `host:port` of the gRPC server (the mounted modules' services), when enabled. */
  grpcUrl?: string;
  /** JWKS of the registry, for the broker. */
  jwksUrl: string;
  /** The first admin's credentials when this start created them with a generated password (print once). */
  bootstrapAdmin?: { email: string; password: string };
  app: Hono;
  routes: AnyRoute[];
  /** The modules this process mounted, in mount order. */
  modules: ModuleName[];
  /** The core's services and the mounted modules'; a field of a module not mounted throws on access. */
  services: Services;
  seedDemo(input: DemoInput): Promise<DemoSeeded>;
  /** A one-time claim token for a gateway (e.g. the demo gateway), valid `ttlSeconds`. */
  createClaimToken(input: { siteId: string; gatewayId?: string; ttlSeconds?: number }): Promise<string>;
  /** The broker starts after the cloud: tell the cloud the URL it hands to provisioned gateways. */
  setBrokerUrl(url: string): void;
  close(): Promise<void>;
}

/** Which module owns each of `DomainServices`' fields, for the message when it is not mounted. */
const domainOwners: Record<keyof DomainServices, ModuleName> = {
  registry: 'registry',
  gaps: 'registry',
  deviceMetrics: 'registry',
  provisioning: 'registry',
  inventory: 'inventory',
  reservations: 'inventory',
  counting: 'inventory',
  commands: 'commands',
};

/** The core's services plus the mounted modules' own; the others answer with a clear error. */
function servicesOf(core: CoreServices, modules: readonly CloudModule[]): Services {
  const services: Partial<DomainServices> = {};
  for (const m of modules) Object.assign(services, m.services ?? {});
  const all = { ...core } as Services;
  for (const [field, owner] of Object.entries(domainOwners)) {
    const value = services[field as keyof DomainServices];
    Object.defineProperty(all, field, {
      enumerable: true,
      get: () => {
        if (value === undefined)
          throw new Error(`services.${field} needs the ${owner} module, not mounted here`);
        return value;
      },
    });
  }
  return all;
}

/**
 * Starts the cloud: migrations, the core services (auth, live hub), the chosen modules (their
 * routes, pages, event-log consumers, gRPC services and timers), the HTTP server (REST API,
 * OpenAPI, dashboard, `/healthz`, `/metrics`), the live WebSocket and the gRPC server.
 */
export async function startCloud(config: Partial<CloudConfig>, deps: ServiceDeps): Promise<CloudHandle> {
  const cfg: CloudConfig = { ...cloudDefaults, ...config };
  const logger = deps.logger;
  const core = await createCoreServices(cfg, deps);
  let bootstrapAdmin: CloudHandle['bootstrapAdmin'];
  if (cfg.admin && (await core.users.count()) === 0) {
    const password = cfg.admin.password ?? randomBytes(12).toString('base64url');
    await core.users.create({ email: cfg.admin.email, name: 'Administrator', role: 'admin', password });
    if (!cfg.admin.password) bootstrapAdmin = { email: cfg.admin.email, password };
    logger.info({ email: cfg.admin.email }, 'first admin created');
  }
  const selection = resolveModules(cfg.modules ?? 'all');
  // Opened here (and closed with the cloud) unless the caller shares its own.
  const owned: { close(): Promise<void> }[] = [];
  const eventStore =
    deps.eventStore ??
    (await createEventStore(deps.database, {
      upcasters: selection.flatMap((e) => e.upcasters ?? []),
      logger,
      metrics: deps.registry,
    }));
  let cache = deps.cache;
  if (!cache) {
    cache = await openCache({
      ...(cfg.redisUrl ? { redisUrl: cfg.redisUrl } : {}),
      logger,
      metrics: deps.registry,
      name: 'cloud',
    });
    owned.push(cache);
  }
  const nav: NavEntry[] = [];
  const apis: Partial<ModuleApis> = {};
  const kit = createDashboardKit({ tokens: core.tokens, users: core.users, nav });
  const ctx: ModuleContext = {
    config: cfg,
    database: deps.database,
    eventLog: deps.eventLog,
    eventStore,
    cache,
    logger,
    metrics: deps.registry,
    hub: core.hub,
    tokens: core.tokens,
    dashboard: kit,
    authenticate: (credential) => principalOf(credential, core),
    apis,
  };
  const mounted: MountedModules = await mountModules(
    selection.map((e) => e.name),
    ctx,
  );
  nav.push(...mounted.nav, apiNav);
  const services = servicesOf(core, mounted.modules);
  const subscriptions = await startConsumers(
    deps.eventLog,
    mounted.consumers,
    cfg.consumers ?? consumerDefaults,
  );
  const stopTimers = startTimers(mounted.timers, logger);
  for (const m of mounted.modules) await m.start?.();
  const { app, routes } = createApp(core, mounted, kit, apis);
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
    hub: core.hub,
    resolve: (c) => principalOf(c, core),
    logger,
    upgrades: mounted.upgrades,
  });
  const grpc =
    cfg.grpcPort !== undefined && cfg.grpcPort >= 0 && mounted.grpc.length > 0
      ? await startGrpcServer(mounted.grpc, cfg.host, cfg.grpcPort)
      : undefined;
  logger.info(
    {
      url,
      grpc: grpc?.url,
      database: deps.database.kind,
      eventLog: deps.eventLog.kind,
      modules: mounted.names,
    },
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
    modules: mounted.names,
    services,
    seedDemo: (input) => seedDemo(services, input, apis.catalog),
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
      stopTimers();
      await Promise.all(subscriptions.map((s) => s.close()));
      await mounted.close();
      await live.close();
      await grpc?.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const o of owned) await o.close();
    },
  };
}
