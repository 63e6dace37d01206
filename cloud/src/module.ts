import type { Cache } from '@bitv/shared/cache';
import type { Database } from '@bitv/shared/db';
import type { EventLog } from '@bitv/shared/event-log';
import type { EventStore } from '@bitv/shared/event-store';
import type { BvEvent } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Hono } from 'hono';
import type { Principal } from './api/principal.js';
import type { AnyRoute } from './api/route.js';
import type { CloudConfig } from './config.js';
import type { LiveHub } from './live/hub.js';

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
  /** Named checks added to `/healthz`; a throw marks the process unhealthy. */
  health?: Record<string, () => Promise<void>>;
  /** What this module offers the modules mounted after it. */
  provides?: Partial<ModuleApis>;
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
  /** Resolves a bearer token or API key to a principal (REST, WebSocket and gRPC alike). */
  authenticate(credential: string): Promise<Principal>;
  /** The interfaces of the modules mounted before this one (absent when not mounted). */
  apis: Partial<ModuleApis>;
}

/**
 * The typed interfaces modules offer each other. A module that needs another's interface lists it
 * in its catalog entry's `needs`, so the cloud mounts them in order and refuses a set that lacks it.
 * Each module adds its own field here.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each module's entry below
export interface ModuleApis {}

export interface NavEntry {
  href: string;
  label: string;
  /** Roles that see the entry. */
  roles: readonly string[];
  testId?: string;
}

export interface ConsumerSpec {
  group: string;
  topics: readonly string[];
  handle(event: BvEvent): Promise<void>;
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
