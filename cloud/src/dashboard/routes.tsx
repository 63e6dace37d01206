import { UnauthenticatedError, ValidationError } from '@bitv/shared';
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { accessCookie, refreshCookie } from '../api/authenticate.js';
import { throttledLogin } from '../api/login.js';
import { defaultMaxBodyBytes, limitBody } from '../api/middleware/body-limit.js';
import { canSeeSite } from '../api/principal.js';
import type { CoreServices } from '../api/services.js';
import { LoginThrottledError } from '../auth/login-throttle.js';
import type { ModuleApis, NavEntry } from '../module.js';
import { css, liveScript } from './assets.js';
import { type DashboardKit, setSessionCookies, staffRoles, type UserPrincipal } from './kit.js';
import { Layout, navFor } from './layout.js';
import { type PartnerData, PartnerPage } from './partner.js';

const partnerRoles = new Set(['partner', 'admin']);

/** The core's own entry: partners (and admins) manage their API keys. */
export const apiNav: NavEntry = {
  id: 'api',
  href: '/partner',
  label: 'API',
  roles: ['partner', 'admin'],
  order: 90,
  testId: 'nav-api',
};

/**
 * The dashboard's shell: assets, login and logout, the landing redirect and the partner page.
 * Sessions are the API's own tokens in httpOnly, SameSite=Strict cookies; an expired access token
 * is renewed from the refresh cookie on the next page load. The domain pages (warehouse, fleet,
 * ...) come from the modules and appear in the navigation by being mounted.
 */
export function dashboardRoutes(
  s: CoreServices,
  kit: DashboardKit,
  apis: Partial<ModuleApis>,
  openApi: Record<string, unknown>,
): Hono {
  const app = new Hono();
  app.use('*', limitBody(defaultMaxBodyBytes));
  const { userOf, toLogin, forbidden } = kit;

  app.get('/assets/app.css', (c) =>
    c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }),
  );
  app.get('/assets/live.js', (c) =>
    c.body(liveScript, 200, {
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
    // The warehouse of the first site the user may see, when the modules that show it are mounted.
    const site =
      apis.registry && apis.inventory
        ? (await apis.registry.listSites()).find((x) => canSeeSite(user, x.id))
        : undefined;
    if (site) return c.redirect(`/sites/${encodeURIComponent(site.id)}`);
    const first = navFor(kit.nav, user.role).find((entry) => entry.href !== '/');
    return first ? c.redirect(first.href) : forbidden(c);
  });

  const partnerPage = async (c: Context, user: UserPrincipal, created?: PartnerData['created']) => {
    // Reservations are the inventory module's: none to show where it is not mounted.
    const [keys, reservations] = await Promise.all([
      s.apiKeys.list(user.id),
      apis.inventory?.listReservations({ owner: user.id, limit: 50 }) ?? [],
    ]);
    return kit.page(
      c,
      { title: 'API access', active: 'api', user },
      <PartnerPage
        data={{
          baseUrl: new URL(c.req.url).origin,
          keys,
          reservations,
          document: openApi,
          ...(created ? { created } : {}),
        }}
      />,
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
