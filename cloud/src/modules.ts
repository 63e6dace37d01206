import type { Upcaster } from '@bitv/shared/event-store';
import type { Hono } from 'hono';
import { createAlarmsModule } from './alarms/module.js';
import type { AnyRoute } from './api/route.js';
import { createCatalogModule } from './catalog/module.js';
import { createChatModule } from './chat/module.js';
import { createCommandsModule } from './commands/module.js';
import { createDependenciesModule } from './dependencies/module.js';
import { createFeedModule } from './feed/module.js';
import { createFirmwareModule } from './firmware/module.js';
import { createFlashSalesModule } from './flash-sales/module.js';
import { createFulfilmentModule } from './fulfilment/module.js';
import { createInventoryModule } from './inventory/module.js';
import type { UpgradeHandler } from './live/ws.js';
import type {
  CloudModule,
  ConsumerSpec,
  GrpcServiceSpec,
  ModuleContext,
  ModuleName,
  NavEntry,
  TimerSpec,
} from './module.js';
import { createOrdersModule } from './orders/module.js';
import { createPaymentsModule } from './payments/module.js';
import { createRegistryModule } from './registry/module.js';
import { createShadowsModule } from './shadows/module.js';
import { createWebhooksModule } from './webhooks/module.js';

export interface ModuleEntry {
  name: ModuleName;
  /** Modules that must be mounted before this one (their `ModuleApis` are in `ctx.apis`). */
  needs: readonly ModuleName[];
  /** One line for `--help` and the docs. */
  description: string;
  /**
   * Upcasters of the module's event-sourced types: the process's one event store is built with
   * those of every mounted module, before any module.
   */
  upcasters?: readonly Upcaster[];
  create(ctx: ModuleContext): Promise<CloudModule>;
}

/**
 * Every module a cloud process can mount. A new domain adds one entry here (and its folder with a
 * `module.ts`); `BV_CLOUD_MODULES` picks a subset, `all` by default.
 */
export const moduleCatalog: readonly ModuleEntry[] = [
  {
    name: 'registry',
    needs: [],
    description: 'sites, gateways, shelves, provisioning, device state, the fleet page',
    create: createRegistryModule,
  },
  {
    name: 'inventory',
    needs: ['registry'],
    description: 'stock from shelf weight, reservations, the warehouse page, gRPC InventoryService',
    create: createInventoryModule,
  },
  {
    name: 'commands',
    needs: ['registry'],
    description: 'device commands and pick-to-light through the edge',
    create: createCommandsModule,
  },
  {
    name: 'catalog',
    needs: [],
    description: 'products with prices and history (ETags, events), cached reads, the catalog page',
    create: (ctx) => createCatalogModule(ctx, ctx.config.catalog ?? {}),
  },
  {
    name: 'fulfilment',
    needs: ['registry', 'inventory', 'commands'],
    description: 'pick-to-light: confirmed orders become pick lists, confirmed by the weight leaving the bin',
    create: (ctx) => createFulfilmentModule(ctx),
  },
  {
    name: 'orders',
    needs: ['registry', 'inventory'],
    description: 'event-sourced orders, idempotent placing, the checkout saga, order read models',
    create: (ctx) =>
      createOrdersModule(ctx, {
        settings: ctx.config.orders ?? {},
        ...(ctx.config.checkoutBoundary ? { onBoundary: ctx.config.checkoutBoundary } : {}),
      }),
  },
  {
    name: 'payments',
    needs: ['orders', 'catalog'],
    description:
      'payments behind an anti-corruption layer (SOAP bank, rest-pay), checkout authorizes, capture on pick, void on cancel, refund on return, the provider toggle, reconciliation, the payments page',
    create: (ctx) => createPaymentsModule(ctx, { settings: ctx.config.payments ?? {} }),
  },
  {
    name: 'shadows',
    needs: ['registry', 'commands'],
    description: 'device shadows: desired and reported settings per gateway and shelf, the delta sent down',
    create: (ctx) => createShadowsModule(ctx),
  },
  {
    name: 'alarms',
    needs: ['registry'],
    description: 'alarms over device state and telemetry, the alarm list and each gateway page',
    create: (ctx) => createAlarmsModule(ctx, { settings: ctx.config.alarms ?? {} }),
  },
  {
    name: 'firmware',
    needs: ['registry', 'commands'],
    description: 'signed firmware rollouts to shelf controllers in waves, the rollouts page',
    create: (ctx) =>
      createFirmwareModule(ctx, ctx.config.firmwareStore ? { firmwareStore: ctx.config.firmwareStore } : {}),
  },
  {
    name: 'webhooks',
    needs: [],
    description:
      'partner webhooks: endpoints, signed deliveries of order, payment, low-stock and device-state events on the reliable queue (RabbitMQ or the database), retries, the delivery log, replay',
    create: (ctx) => createWebhooksModule(ctx, ctx.config.webhooks ?? {}),
  },
  {
    name: 'feed',
    needs: [],
    description: 'social feed: posts, follows, likes, comments, moderation; the home feed over SSE',
    create: (ctx) => createFeedModule(ctx, ctx.config.feed ?? {}),
  },
  {
    name: 'flash-sales',
    needs: ['inventory', 'orders'],
    description:
      'flash sales on live stock: a public SSE countdown and remaining quantity, buying through checkout',
    create: (ctx) => createFlashSalesModule(ctx, ctx.config.flashSales ?? {}),
  },
  {
    name: 'chat',
    needs: [],
    description:
      'chat: site channels, direct messages and order support rooms over WebSocket, presence, two-site replication',
    create: (ctx) => createChatModule(ctx, ctx.config.chat ?? {}),
  },
  {
    name: 'dependencies',
    needs: [],
    description:
      'the dependencies page: every outbound dependency’s circuit breaker state, timeouts and bulkhead refusals',
    create: (ctx) => createDependenciesModule(ctx),
  },
];

export class ModuleSelectionError extends Error {
  override readonly name = 'ModuleSelectionError';
}

/**
 * The catalog entries to mount for `names` (`all`, or a list), in an order where each module comes
 * after the ones it needs (catalog order otherwise). An unknown name, a missing dependency or a
 * cycle is a `ModuleSelectionError` that says what to add.
 */
export function resolveModules(
  names: 'all' | readonly string[],
  catalog: readonly ModuleEntry[] = moduleCatalog,
): ModuleEntry[] {
  const byName = new Map(catalog.map((e) => [e.name, e]));
  const wanted = names === 'all' || names.includes('all') ? catalog.map((e) => e.name) : [...new Set(names)];
  if (wanted.length === 0) throw new ModuleSelectionError('no modules to mount (give "all" or a list)');
  const known = catalog.map((e) => e.name).join(', ');
  for (const name of wanted) {
    if (!byName.has(name)) throw new ModuleSelectionError(`unknown module "${name}" (known: ${known})`);
  }
  const chosen = new Set(wanted);
  for (const name of wanted) {
    const missing = (byName.get(name) as ModuleEntry).needs.filter((n) => !chosen.has(n));
    if (missing.length > 0) {
      throw new ModuleSelectionError(
        `module "${name}" needs ${missing.map((n) => `"${n}"`).join(', ')}: add it to the modules to mount (${[...wanted, ...missing].join(',')})`,
      );
    }
  }
  const ordered: ModuleEntry[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (entry: ModuleEntry, path: string[]) => {
    const s = state.get(entry.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new ModuleSelectionError(
        `modules need each other in a cycle: ${[...path, entry.name].join(' -> ')}`,
      );
    }
    state.set(entry.name, 'visiting');
    for (const need of entry.needs) visit(byName.get(need) as ModuleEntry, [...path, entry.name]);
    state.set(entry.name, 'done');
    ordered.push(entry);
  };
  // Catalog order, not the order the list was given in: the same set always mounts the same way.
  for (const entry of catalog) if (chosen.has(entry.name)) visit(entry, []);
  return ordered;
}

/** What the mounted modules give the process, gathered for the HTTP app, the log and gRPC. */
export interface MountedModules {
  modules: CloudModule[];
  names: ModuleName[];
  routes: AnyRoute[];
  pages: Hono[];
  nav: NavEntry[];
  consumers: ConsumerSpec[];
  grpc: GrpcServiceSpec[];
  timers: TimerSpec[];
  upgrades: UpgradeHandler[];
  /** Named `<module>.<check>`. */
  health: Record<string, () => Promise<void>>;
  /** Closes the modules, last mounted first. */
  close(): Promise<void>;
}

/**
 * Builds the chosen modules in dependency order, each seeing the `provides` of those before it in
 * `ctx.apis` (the same object, so later ones are visible to earlier ones at request time), and
 * gathers what they mount. A module that fails to build closes the ones built before it.
 */
export async function mountModules(
  names: 'all' | readonly string[],
  ctx: ModuleContext,
  catalog: readonly ModuleEntry[] = moduleCatalog,
): Promise<MountedModules> {
  const entries = resolveModules(names, catalog);
  const modules: CloudModule[] = [];
  const close = async () => {
    for (const m of [...modules].reverse()) {
      try {
        await m.close?.();
      } catch (error) {
        ctx.logger.warn({ err: error, module: m.name }, 'module close failed');
      }
    }
  };
  try {
    for (const entry of entries) {
      const module = await entry.create(ctx);
      if (module.name !== entry.name) {
        throw new Error(`catalog entry "${entry.name}" built a module named "${module.name}"`);
      }
      modules.push(module);
      Object.assign(ctx.apis, module.provides ?? {});
    }
  } catch (error) {
    await close();
    throw error;
  }
  const health: Record<string, () => Promise<void>> = {};
  for (const m of modules) {
    for (const [check, run] of Object.entries(m.health ?? {})) health[`${m.name}.${check}`] = run;
  }
  return {
    modules,
    names: modules.map((m) => m.name),
    routes: modules.flatMap((m) => m.routes ?? []),
    pages: modules.flatMap((m) => (m.pages ? [m.pages] : [])),
    nav: modules.flatMap((m) => m.nav ?? []),
    consumers: modules.flatMap((m) => m.consumers ?? []),
    grpc: modules.flatMap((m) => m.grpc ?? []),
    timers: modules.flatMap((m) => m.timers ?? []),
    upgrades: modules.flatMap((m) => m.upgrades ?? []),
    health,
    close,
  };
}
