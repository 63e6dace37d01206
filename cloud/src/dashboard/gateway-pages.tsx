import { NotFoundError } from '@bitv/shared';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { AlarmsApi } from '../alarms/module.js';
import { canSeeSite } from '../api/principal.js';
import type { ModuleApis, NavEntry } from '../module.js';
import { type AlarmStateShown, AlarmsPage, alarmStatesShown } from './alarms-page.js';
import { chartCss } from './gateway-charts.js';
import { GatewayPage } from './gateway-page.js';
import { gatewayScript } from './gateway-script.js';
import { type DashboardKit, staffRoles, type UserPrincipal } from './kit.js';

export const alarmsNav: NavEntry = {
  id: 'alarms',
  href: '/alarms',
  label: 'Alarms',
  roles: [...staffRoles],
  order: 25,
  testId: 'nav-alarms',
};

/** A section another module adds to every gateway's page (H8's rollouts). */
export interface GatewayPageSection {
  id: string;
  title: string;
  render(gatewayId: string, user: UserPrincipal): Promise<Child>;
}

/** What the gateway page offers other modules: a place on it. */
export interface GatewayPageApi {
  addSection(section: GatewayPageSection): void;
}

const assetHeaders = { 'cache-control': 'max-age=300' };
const healthMinutes = 120;

/**
 * The alarm list (`/alarms`) and each gateway's page (`/gateways/:id`). The other modules'
 * interfaces are read per request: commands and shadows may mount after the alarms module.
 */
export function gatewayPages(deps: {
  kit: DashboardKit;
  apis: Partial<ModuleApis>;
  alarms: AlarmsApi;
  sections: GatewayPageSection[];
}): Hono {
  const { kit, apis, alarms } = deps;
  const app = new Hono();
  app.get('/assets/gateway.js', (c) =>
    c.body(gatewayScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/gateway.css', (c) =>
    c.body(chartCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );
  const staff = async (c: Context) => {
    const user = await kit.userOf(c);
    if (!user) return { denied: kit.toLogin(c) };
    if (!staffRoles.has(user.role)) return { denied: await kit.forbidden(c) };
    return { user };
  };
  const styled = (body: Child) => (
    <>
      <link rel="stylesheet" href="/assets/gateway.css" />
      {body}
    </>
  );

  app.get('/alarms', async (c) => {
    const { user, denied } = await staff(c);
    if (!user) return denied;
    const asked = c.req.query('state') ?? 'open';
    const state: AlarmStateShown = (alarmStatesShown as readonly string[]).includes(asked)
      ? (asked as AlarmStateShown)
      : 'open';
    const list = await alarms.list({
      sites: user.sites,
      ...(state === 'all' ? {} : { state }),
      limit: 200,
    });
    return kit.page(
      c,
      { title: 'Alarms', active: 'alarms', user, scripts: ['/assets/gateway.js'] },
      styled(<AlarmsPage alarms={list} state={state} canAck={true} />),
    );
  });

  app.get('/gateways/:id', async (c) => {
    const { user, denied } = await staff(c);
    if (!user) return denied;
    const { registry, commands, shadows } = apis;
    if (!registry) throw new NotFoundError('the registry module is not mounted');
    const gateway = await registry.getGateway(c.req.param('id'));
    if (!canSeeSite(user, gateway.siteId)) return kit.forbidden(c);
    const [shelves, health, shadow, recent, alarmList, sections] = await Promise.all([
      registry.listShelves({ gatewayId: gateway.id }),
      alarms.health(gateway.id, healthMinutes),
      shadows ? shadows.get(gateway.id) : Promise.resolve(undefined),
      commands ? commands.list(gateway.id, 20) : Promise.resolve([]),
      alarms.list({ sites: user.sites, gatewayId: gateway.id, limit: 50 }),
      Promise.all(
        deps.sections.map(async (s) => ({
          id: s.id,
          title: s.title,
          body: await s.render(gateway.id, user),
        })),
      ),
    ]);
    return kit.page(
      c,
      { title: gateway.name, active: 'fleet', siteId: gateway.siteId, user, scripts: ['/assets/gateway.js'] },
      styled(
        <GatewayPage
          data={{
            gateway,
            shelves,
            health,
            ...(shadow ? { shadow } : {}),
            commands: recent,
            alarms: alarmList,
            canOperate: user.role === 'operator' || user.role === 'admin',
            sections,
          }}
        />,
      ),
    );
  });
  return app;
}
