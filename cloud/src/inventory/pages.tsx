import { Hono } from 'hono';
import { canSeeSite } from '../api/principal.js';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import type { RegistryApi } from '../registry/api.js';
import type { Inventory } from './inventory.js';
import { WarehousePage } from './warehouse-page.js';

export const warehouseNav: NavEntry = {
  id: 'warehouse',
  // `/` leads to the first site the user may see; from a site's page, to that site.
  href: '/',
  siteHref: (siteId) => `/sites/${siteId}`,
  label: 'Warehouse',
  roles: [...staffRoles],
  order: 10,
};

/** The warehouse page of a site: its shelves and bins, counts, lights and alerts, live. */
export function inventoryPages(deps: {
  kit: DashboardKit;
  registry: RegistryApi;
  inventory: Inventory;
}): Hono {
  const { kit, registry, inventory } = deps;
  const app = new Hono();
  app.get('/sites/:id', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    const id = c.req.param('id');
    if (!staffRoles.has(user.role) || !canSeeSite(user, id)) return kit.forbidden(c);
    const [site, sites, aisles, shelves, bins, alerts, gateways] = await Promise.all([
      registry.getSite(id),
      registry.listSites(),
      registry.listAisles(id),
      registry.listShelves({ siteId: id }),
      inventory.binsOfSite(id),
      inventory.alerts(id, 'open'),
      registry.listGateways(id),
    ]);
    return kit.page(
      c,
      { title: site.name, active: 'warehouse', siteId: id, user, scripts: ['/assets/live.js'] },
      <WarehousePage
        data={{
          site,
          sites: sites.filter((x) => canSeeSite(user, x.id)),
          aisles,
          shelves,
          bins,
          alerts,
          gateways,
        }}
      />,
    );
  });
  return app;
}
