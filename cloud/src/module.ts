import type { Cache } from '@bitv/shared/cache';
import type { Database } from '@bitv/shared/db';
import type { EventLog } from '@bitv/shared/event-log';
import type { EventStore } from '@bitv/shared/event-store';
import type { BvEvent } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Hono } from 'hono';
import type { AlarmsApi } from './alarms/module.js';
import type { Principal } from './api/principal.js';
import type { AnyRoute } from './api/route.js';
import type { DomainServices } from './api/services.js';
import type { Tokens } from './auth/tokens.js';
import type { CommandsApi } from './commands/api.js';
import type { CloudConfig } from './config.js';
import type { GatewayPageApi } from './dashboard/gateway-pages.js';
import type { DashboardKit } from './dashboard/kit.js';
import type { InventoryApi } from './inventory/api.js';
import type { LiveHub } from './live/hub.js';
import type { UpgradeHandler } from './live/ws.js';
import type { RegistryApi } from './registry/api.js';
import type { ShadowsApi } from './shadows/module.js';

/**
 * One bounded context of the cloud (registry, inventory, commands, catalog, orders, fulfilment,
 * ...). Each domain folder has a `module.ts` exporting `create<Domain>Module(ctx)`, which builds
 * the domain's services and returns what the cloud process mounts. Modules meet only through
 * events and the typed interfaces in `ModuleApis`, never through each other's tables.
 */
export interface CloudModule {
  readonly name: ModuleName;
  /** REST operations, mounted with authentication and listed in `/openapi.json`. */
  routes?: AnyRoute[];
  /** Dashboard pages (Hono JSX), mounted at `/`, and their entries in the navigation. */
  pages?: Hono;
  nav?: NavEntry[];
  /** Event-log consumers; the group is prefixed with the process's consumer prefix. */
  consumers?: ConsumerSpec[];
  /** gRPC services added to the cloud's gRPC server. */
  grpc?: GrpcServiceSpec[];
  /** Work on a schedule (expiry, outbox relay, sagas' timeouts); errors are logged, never thrown. */
  timers?: TimerSpec[];
  /** WebSocket endpoints other than the live one, dispatched by path on the HTTP server's upgrades. */
  upgrades?: UpgradeHandler[];
  /** Named checks added to `/healthz`; a throw marks the process unhealthy. */
  health?: Record<string, () => Promise<void>>;
  /** What this module offers the modules mounted after it. */
  provides?: Partial<ModuleApis>;
  /**
   * The module's own service objects, reachable as `CloudHandle.services` for the launcher, the
   * demo seed and tests. Other modules never use these: they go through `provides`.
   */
  services?: Partial<DomainServices>;
  /** Runs once every module is built (e.g. warming a cache, starting a relay). */
  start?(): Promise<void>;
  /** Stops timers and relays the module started itself; the context's ports are closed by the cloud. */
  close?(): Promise<void>;
}

export type ModuleName = string;

/** What every module is given: the process's ports and cross-cutting services. */
export interface ModuleContext {
  config: CloudConfig;
  database: Database;
  eventLog: EventLog;
  eventStore: EventStore;
  cache: Cache;
  logger: Logger;
  metrics: MetricsRegistry;
  hub: LiveHub;
  /** Signs and verifies user tokens and device credentials (the registry issues credentials). */
  tokens: Tokens;
  /** The dashboard's shared shell: session, layout (with every mounted module's nav), error pages. */
  dashboard: DashboardKit;
  /** Resolves a bearer token or API key to a principal (REST, WebSocket and gRPC alike). */
  authenticate(credential: string): Promise<Principal>;
  /**
   * The interfaces of the mounted modules. Those in the module's `needs` are here when its factory
   * runs; others (optional collaborators) are filled in as later modules mount, so read them when
   * a request or event comes, not at build time, and expect them absent when not mounted.
   */
  apis: Partial<ModuleApis>;
}

/**
 * The typed interfaces modules offer each other. A module that needs another's interface lists it
 * in its catalog entry's `needs`, so the cloud mounts them in order and refuses a set that lacks it.
 * Each module adds its own field here, typed by an interface in its folder's `api.ts`.
 */
export interface ModuleApis {
  registry: RegistryApi;
  inventory: InventoryApi;
  commands: CommandsApi;
  shadows: ShadowsApi;
  alarms: AlarmsApi;
  /** A place on each gateway's page for other modules' sections (rollouts). */
  gatewayPage: GatewayPageApi;
}

export interface NavEntry {
  /** What a page passes as `active` to mark its entry. */
  id: string;
  href: string;
  /** Where the entry leads from a page of one site (e.g. that site's warehouse), if elsewhere. */
  siteHref?: (siteId: string) => string;
  label: string;
  /** Roles that see the entry. */
  roles: readonly string[];
  /** Entries are shown by ascending order (default 50), then in mount order. */
  order?: number;
  testId?: string;
}

export interface ConsumerSpec {
  /** Unique in the process; the event log's group is `<consumer prefix>.<group>`. */
  group: string;
  /**
   * Another consumer's group this one rides in when that group is mounted in the same process:
   * one delivery of a busy topic (`bv.telemetry`) instead of one per module, each event handed to
   * the host's handler first, then this one's. Where the host is not mounted, its own `group`.
   */
  joins?: string;
  topics: readonly string[];
  handle(event: BvEvent): Promise<void>;
  /**
   * Optional: a run of events at once, committed together (see the event log's `batchHandler`);
   * used only when no other consumer joins this one's group.
   */
  handleBatch?(events: readonly BvEvent[]): Promise<void>;
}

export interface GrpcServiceSpec {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface TimerSpec {
  name: string;
  everyMs: number;
  run(): Promise<void>;
}
