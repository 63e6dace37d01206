import { UnauthenticatedError, ValidationError } from '@bitv/shared';
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { accessCookie, refreshCookie } from '../api/authenticate.js';
import { throttledLogin } from '../api/login.js';
import { defaultMaxBodyBytes, limitBody } from '../api/middleware/body-limit.js';
import { canSeeSite, type Principal } from '../api/principal.js';
import type { Services } from '../api/services.js';
import { LoginThrottledError } from '../auth/login-throttle.js';
import type { Session } from '../auth/users.js';
import { css, fleetScript, liveScript } from './assets.js';
import { errorPage } from './error-page.js';
import { FleetPage } from './fleet.js';
import { Layout } from './layout.js';
import { type PartnerData, PartnerPage } from './partner.js';
import { WarehousePage } from './warehouse.js';

type UserPrincipal = Extract<Principal, { kind: 'user' }> & { email: string };

const staffRoles = new Set(['staff', 'operator', 'admin']);
const partnerRoles = new Set(['partner', 'admin']);

function setSessionCookies(c: Context, session: Session): void {
  const secure = new URL(c.req.url).protocol === 'https:';
  const base = { httpOnly: true, sameSite: 'Strict' as const, secure, path: '/' };
  setCookie(c, accessCookie, session.access.token, { ...base, expires: session.access.expiresAt });
  setCookie(c, refreshCookie, session.refresh.token, { ...base, expires: session.refresh.expiresAt });
}

/**
 * The dashboard: server-rendered pages (Hono JSX) with a small client script that follows the
 * live WebSocket. Sessions are the API's own tokens in httpOnly, SameSite=Strict cookies; an
 * expired access token is renewed from the refresh cookie on the next page load.
 */
export function dashboardRoutes(s: Services, openApi: Record<string, unknown>): Hono {
  const app = new Hono();
  app.use('*', limitBody(defaultMaxBodyBytes));

  const userOf = async (c: Context): Promise<UserPrincipal | undefined> => {
    const access = getCookie(c, accessCookie);
    if (access) {
      try {
        const claims = await s.tokens.verifyAccess(access);
        const user = await s.users.get(claims.sub);
        return { kind: 'user', id: user.id, role: user.role, sites: user.sites, email: user.email };
      } catch (error) {
        if (!(error instanceof UnauthenticatedError)) throw error;
        // Expired or invalid: fall through to the refresh cookie.
      }
    }
    const refresh = getCookie(c, refreshCookie);
    if (!refresh) return undefined;
    try {
      const session = await s.users.refresh(refresh);
      setSessionCookies(c, session);
      return {
        kind: 'user',
        id: session.user.id,
        role: session.user.role,
        sites: session.user.sites,
        email: session.user.email,
      };
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      return undefined;
    }
  };

  const toLogin = (c: Context) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`);
  const forbidden = (c: Context) => errorPage(c, 403, 'Your account may not see this page.');

  app.get('/assets/app.css', (c) =>
    c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }),
  );
  app.get('/assets/live.js', (c) =>
    c.body(liveScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'max-age=300',
    }),
  );
  app.get('/assets/fleet.js', (c) =>
    c.body(fleetScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'max-age=300',
    }),
  );

  // No icon: an empty answer instead of a 404 in every browser console.
  app.get('/favicon.ico', (c) => c.body(null, 204));

  const loginPage = (c: Context, next: string, failed: boolean, throttled?: number) =>
    c.html(
      <Layout title="Log in">
        <form
          class="login"
          method="post"
          action={`/login?next=${encodeURIComponent(next)}`}
          data-testid="login-form"
        >
          <h1>
            Bit<span style="color:#2f6fed">Velocity</span>
          </h1>
          <div class="sub">Warehouse shelves, live.</div>
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            required
            autocomplete="username"
            data-testid="login-email"
          />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            required
            autocomplete="current-password"
            data-testid="login-password"
          />
          <button type="submit" data-testid="login-submit">
            Log in
          </button>
          {failed ? <div class="error">Wrong email or password.</div> : null}
          {throttled ? (
            <div class="error" data-testid="login-throttled">
              Too many failed logins. Try again in {throttled} s.
            </div>
          ) : null}
        </form>
      </Layout>,
      throttled ? 429 : 200,
    );

  app.get('/login', (c) => loginPage(c, c.req.query('next') ?? '/', c.req.query('failed') !== undefined));

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = c.req.query('next') ?? '/';
    const safeNext = next.startsWith('/') && !next.startsWith('//') ? next : '/';
    try {
      const session = await throttledLogin(s, c, String(form.email ?? ''), String(form.password ?? ''));
      setSessionCookies(c, session);
      return c.redirect(safeNext, 303);
    } catch (error) {
      if (error instanceof LoginThrottledError) {
        // The page itself says so, with the status and header a script or proxy understands.
        const wait = Number(error.details?.retryAfterSeconds);
        c.header('Retry-After', String(wait));
        return loginPage(c, safeNext, false, wait);
      }
      if (!(error instanceof UnauthenticatedError)) throw error;
      return c.redirect(`/login?failed&next=${encodeURIComponent(safeNext)}`, 303);
    }
  });

  app.post('/logout', async (c) => {
    const refresh = getCookie(c, refreshCookie);
    if (refresh) await s.users.logout(refresh).catch(() => undefined); // an invalid cookie is logged out anyway
    deleteCookie(c, accessCookie, { path: '/' });
    deleteCookie(c, refreshCookie, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.get('/', async (c) => {
    const user = await userOf(c);
    if (!user) return toLogin(c);
    if (!staffRoles.has(user.role)) return c.redirect('/partner');
    const site = (await s.registry.listSites()).find((x) => canSeeSite(user, x.id));
    return site ? c.redirect(`/sites/${encodeURIComponent(site.id)}`) : c.redirect('/fleet');
  });

  app.get('/sites/:id', async (c) => {
    const user = await userOf(c);
    if (!user) return toLogin(c);
    const id = c.req.param('id');
    if (!staffRoles.has(user.role) || !canSeeSite(user, id)) return forbidden(c);
    const [site, sites, aisles, shelves, bins, alerts, gateways] = await Promise.all([
      s.registry.getSite(id),
      s.registry.listSites(),
      s.registry.listAisles(id),
      s.registry.listShelves({ siteId: id }),
      s.inventory.binsOfSite(id),
      s.inventory.alerts(id, 'open'),
      s.registry.listGateways(id),
    ]);
    return c.html(
      <Layout title={site.name} active="warehouse" siteId={id} user={user} scripts={['/assets/live.js']}>
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
        />
      </Layout>,
    );
  });

  app.get('/fleet', async (c) => {
    const user = await userOf(c);
    if (!user) return toLogin(c);
    if (!staffRoles.has(user.role)) return forbidden(c);
    const sites = (await s.registry.listSites()).filter((x) => canSeeSite(user, x.id));
    const gateways = (await s.registry.listGateways()).filter((g) => canSeeSite(user, g.siteId));
    const shelves = (await Promise.all(sites.map((x) => s.registry.listShelves({ siteId: x.id })))).flat();
    const commands = (await Promise.all(gateways.map((g) => s.commands.list(g.id, 10))))
      .flat()
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, 20);
    const canOperate = user.role === 'operator' || user.role === 'admin';
    const ids = gateways.map((g) => g.id);
    const lost = await s.gaps.lostByGateway(ids);
    const gaps = await s.gaps.recent(ids);
    const devices = await s.deviceMetrics.genericDevices(ids);
    return c.html(
      <Layout title="Fleet" active="fleet" user={user} scripts={['/assets/live.js', '/assets/fleet.js']}>
        <FleetPage
          data={{
            sites,
            gateways,
            shelves,
            commands,
            lost,
            gaps,
            consumers: s.eventLog.consumers(),
            canOperate,
            devices,
          }}
        />
      </Layout>,
    );
  });

  const partnerPage = async (c: Context, user: UserPrincipal, created?: PartnerData['created']) => {
    const [keys, reservations] = await Promise.all([
      s.apiKeys.list(user.id),
      s.reservations.list({ owner: user.id, limit: 50 }),
    ]);
    return c.html(
      <Layout title="API access" active="api" user={user}>
        <PartnerPage
          data={{
            baseUrl: new URL(c.req.url).origin,
            keys,
            reservations,
            document: openApi,
            ...(created ? { created } : {}),
          }}
        />
      </Layout>,
    );
  };
  // Partners (and admins, for their own keys) manage keys here with the session cookie; the forms
  // post same-origin only (SameSite=Strict cookies, and a foreign Origin is refused).
  const partnerOf = async (c: Context) => {
    const user = await userOf(c);
    if (user && !partnerRoles.has(user.role)) return { user, allowed: false };
    return { user, allowed: true };
  };
  const sameOrigin = (c: Context) => {
    const origin = c.req.header('origin');
    return origin === undefined || origin === new URL(c.req.url).origin;
  };

  app.get('/partner', async (c) => {
    const { user, allowed } = await partnerOf(c);
    if (!user) return toLogin(c);
    if (!allowed) return forbidden(c);
    return partnerPage(c, user);
  });

  app.post('/partner/api-keys', async (c) => {
    const { user, allowed } = await partnerOf(c);
    if (!user) return toLogin(c);
    if (!allowed || !sameOrigin(c)) return forbidden(c);
    const form = await c.req.parseBody();
    const name = String(form.name ?? '').trim();
    if (name === '' || name.length > 200)
      throw new ValidationError('a key needs a name of 1 to 200 characters');
    const { key, apiKey } = await s.apiKeys.create(user.id, name);
    return partnerPage(c, user, { key, name: apiKey.name });
  });

  app.post('/partner/api-keys/:id/revoke', async (c) => {
    const { user, allowed } = await partnerOf(c);
    if (!user) return toLogin(c);
    if (!allowed || !sameOrigin(c)) return forbidden(c);
    await s.apiKeys.revoke(c.req.param('id'), user.id);
    return c.redirect('/partner', 303);
  });

  return app;
}
