import { Hono } from 'hono';
import { canSeeSite } from '../api/principal.js';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import type { RegistryApi } from '../registry/api.js';
import type { Fulfilment } from './fulfilment.js';
import { PickStationPage } from './pick-page.js';
import { pickCss, pickScript } from './pick-script.js';

export const pickNav: NavEntry = {
  id: 'pick',
  href: '/pick',
  siteHref: (siteId) => `/sites/${siteId}/pick`,
  label: 'Pick station',
  roles: [...staffRoles],
  order: 20,
  testId: 'nav-pick',
};

const assetHeaders = { 'cache-control': 'max-age=300' };

/** The pick station page of a site, and its script. */
export function fulfilmentPages(deps: {
  kit: DashboardKit;
  registry: Pick<RegistryApi, 'getSite' | 'listSites'>;
  fulfilment: Fulfilment;
}): Hono {
  const { kit, registry, fulfilment } = deps;
  const app = new Hono();
  app.get('/assets/pick.js', (c) =>
    c.body(pickScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/pick.css', (c) =>
    c.body(pickCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );
  app.get('/pick', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!staffRoles.has(user.role)) return kit.forbidden(c);
    const site = (await registry.listSites()).find((s) => canSeeSite(user, s.id));
    if (!site) return kit.forbidden(c);
    return c.redirect(`/sites/${encodeURIComponent(site.id)}/pick`);
  });
  app.get('/sites/:id/pick', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    const id = c.req.param('id');
    if (!staffRoles.has(user.role) || !canSeeSite(user, id)) return kit.forbidden(c);
    const [site, current, waiting, recent] = await Promise.all([
      registry.getSite(id),
      fulfilment.current(id),
      fulfilment.list({ siteId: id, status: 'open', limit: 20 }),
      fulfilment.list({ siteId: id, limit: 20 }),
    ]);
    return kit.page(
      c,
      {
        title: `Pick station · ${site.name}`,
        active: 'pick',
        siteId: id,
        user,
        scripts: ['/assets/pick.js'],
      },
      <>
        <link rel="stylesheet" href="/assets/pick.css" />
        <PickStationPage
          data={{
            site,
            current,
            waiting,
            recent: recent.filter((p) => p.status !== 'open' && p.status !== 'picking'),
          }}
        />
      </>,
    );
  });
  return app;
}
