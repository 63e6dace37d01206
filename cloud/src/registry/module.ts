import { deviceStateV1, telemetryGapV1, telemetryMetricsV1, topics } from '@bitv/shared/events';
import { counter } from '@bitv/shared/metrics';
import { dataOf, timeOf } from '../consumers.js';
import { cloudDb } from '../db/index.js';
import type { CloudModule, ModuleContext } from '../module.js';
import type { RegistryApi, ShelfPresenceListener } from './api.js';
import { DeviceMetrics } from './device-metrics.js';
import { deviceMetricsRoutes } from './device-metrics-routes.js';
import { DeviceStateTracker } from './device-state.js';
import { fleetNav, registryPages } from './pages.js';
import { Provisioning } from './provisioning.js';
import { Registry } from './registry.js';
import { registryRoutes } from './routes.js';
import { TelemetryGaps } from './telemetry-gaps.js';

/**
 * Registry and provisioning: sites, aisles, gateways and shelves, claim tokens and gateway
 * credentials, device state (online, health, plug-and-play shelves), readings lost at the edge and
 * generic device metrics; the fleet page.
 */
export async function createRegistryModule(ctx: ModuleContext): Promise<CloudModule> {
  const db = cloudDb(ctx.database);
  const registry = new Registry(db);
  const gaps = new TelemetryGaps(
    db,
    counter(ctx.metrics, 'bv_cloud_edge_readings_lost_total', 'Readings edge agents reported lost, by kind', [
      'kind',
    ]),
    ctx.logger,
  );
  const deviceMetrics = new DeviceMetrics(db, ctx.logger);
  const provisioning = new Provisioning(
    db,
    ctx.tokens,
    ctx.eventLog,
    { brokerUrl: ctx.config.brokerUrl, primaryHostId: ctx.config.primaryHostId },
    ctx.logger,
  );
  const presence: ShelfPresenceListener[] = [];
  const tracker = new DeviceStateTracker(db, ctx.hub, ctx.logger, async (shelfIds, online) => {
    for (const listener of presence) await listener(shelfIds, online);
  });
  const api: RegistryApi = {
    listSites: () => registry.listSites(),
    getSite: (id) => registry.getSite(id),
    listAisles: (siteId) => registry.listAisles(siteId),
    listGateways: (siteId) => registry.listGateways(siteId),
    getGateway: (id) => registry.getGateway(id),
    listShelves: (filter) => registry.listShelves(filter),
    getShelf: (id) => registry.getShelf(id),
    isCredentialActive: (jti) => provisioning.isActive(jti),
    onShelfPresence: (listener) => {
      presence.push(listener);
    },
  };
  return {
    name: 'registry',
    routes: [
      ...registryRoutes({ registry, provisioning }),
      ...deviceMetricsRoutes({ registry, deviceMetrics }),
    ],
    pages: registryPages({
      kit: ctx.dashboard,
      registry,
      gaps,
      deviceMetrics,
      eventLog: ctx.eventLog,
      apis: ctx.apis,
    }),
    nav: [fleetNav],
    consumers: [
      {
        group: 'device-state',
        topics: [topics.deviceState],
        handle: async (event) => {
          const state = dataOf(deviceStateV1, event);
          if (state) await tracker.apply(state, timeOf(event));
        },
      },
      {
        // Gap reports and device metrics: in inventory's group where it is mounted (one delivery
        // of bv.telemetry, as before the split), in their own where it is not.
        group: 'registry',
        joins: 'inventory',
        topics: [topics.telemetry],
        handle: async (event) => {
          const gap = dataOf(telemetryGapV1, event);
          if (gap) await gaps.record(gap, timeOf(event));
          const metrics = dataOf(telemetryMetricsV1, event);
          if (metrics) await deviceMetrics.record(metrics);
        },
      },
    ],
    provides: { registry: api },
    services: { registry, gaps, deviceMetrics, provisioning },
  };
}
