import type { EventLog } from '@bitv/shared/event-log';
import { Hono } from 'hono';
import { canSeeSite } from '../api/principal.js';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { ModuleApis, NavEntry } from '../module.js';
import type { DeviceMetrics } from './device-metrics.js';
import { FleetPage } from './fleet-page.js';
import { fleetScript } from './fleet-script.js';
import type { Registry } from './registry.js';
import type { TelemetryGaps } from './telemetry-gaps.js';

export const fleetNav: NavEntry = {
  id: 'fleet',
  href: '/fleet',
  label: 'Fleet',
  roles: [...staffRoles],
  order: 20,
};

/**
 * The fleet page: gateways and shelves with their health, readings lost at the edge, other
 * Sparkplug devices, the cloud's consumers, and (with the commands module) recent commands.
 */
export function registryPages(deps: {
  kit: DashboardKit;
  registry: Registry;
  gaps: TelemetryGaps;
  deviceMetrics: DeviceMetrics;
  eventLog: EventLog;
  /** Read per request: the commands module mounts after this one. */
  apis: Partial<ModuleApis>;
}): Hono {
  const { kit, registry, gaps, deviceMetrics } = deps;
  const app = new Hono();
  app.get('/assets/fleet.js', (c) =>
    c.body(fleetScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'max-age=300',
    }),
  );
  app.get('/fleet', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!staffRoles.has(user.role)) return kit.forbidden(c);
    const sites = (await registry.listSites()).filter((x) => canSeeSite(user, x.id));
    const gateways = (await registry.listGateways()).filter((g) => canSeeSite(user, g.siteId));
    const shelves = (await Promise.all(sites.map((x) => registry.listShelves({ siteId: x.id })))).flat();
    const commandsApi = deps.apis.commands;
    const commands = commandsApi
      ? (await Promise.all(gateways.map((g) => commandsApi.list(g.id, 10))))
          .flat()
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
          .slice(0, 20)
      : [];
    const canOperate = user.role === 'operator' || user.role === 'admin';
    const ids = gateways.map((g) => g.id);
    const lost = await gaps.lostByGateway(ids);
    const recentGaps = await gaps.recent(ids);
    const devices = await deviceMetrics.genericDevices(ids);
    return kit.page(
      c,
      { title: 'Fleet', active: 'fleet', user, scripts: ['/assets/live.js', '/assets/fleet.js'] },
      <FleetPage
        data={{
          sites,
          gateways,
          shelves,
          commands,
          lost,
          gaps: recentGaps,
          consumers: deps.eventLog.consumers(),
          canOperate,
          devices,
        }}
      />,
    );
  });
  return app;
}
