import { NotFoundError, UnauthenticatedError } from '@bitv/shared';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import { accessCookie, refreshCookie } from '../api/authenticate.js';
import type { Principal } from '../api/principal.js';
import type { Tokens } from '../auth/tokens.js';
import type { Session, Users } from '../auth/users.js';
import type { NavEntry } from '../module.js';
import { errorPage } from './error-page.js';
import { Layout } from './layout.js';

export type UserPrincipal = Extract<Principal, { kind: 'user' }> & { email: string };

/** Roles that see the warehouse side of the dashboard (partners see their API page only). */
export const staffRoles: ReadonlySet<string> = new Set(['staff', 'operator', 'admin']);

export interface PageOptions {
  title: string;
  /** The `id` of the page's navigation entry. */
  active?: string;
  siteId?: string;
  user: UserPrincipal;
  scripts?: string[];
}

/**
 * The dashboard's shared shell for every module's pages: who is logged in (the API's own tokens
 * in cookies), the layout with the navigation of every mounted module, and the usual answers.
 */
export interface DashboardKit {
  /** The logged-in user, renewing an expired access token from the refresh cookie; undefined if none. */
  userOf(c: Context): Promise<UserPrincipal | undefined>;
  toLogin(c: Context): Response;
  forbidden(c: Context): Response | Promise<Response>;
  page(c: Context, options: PageOptions, body: Child, status?: 200 | 429): Response | Promise<Response>;
  /** The mounted modules' navigation entries and the core's, as the layout shows them. */
  readonly nav: readonly NavEntry[];
  /**
   * How pages name the actors stored on records (`user:<id>`): the user's name and email; any
   * other actor (an API key, `defaults`, a user since deleted) as it is stored.
   */
  actorNames(actors: Iterable<string>): Promise<(actor: string) => string>;
}

export function setSessionCookies(c: Context, session: Session): void {
  const secure = new URL(c.req.url).protocol === 'https:';
  const base = { httpOnly: true, sameSite: 'Strict' as const, secure, path: '/' };
  setCookie(c, accessCookie, session.access.token, { ...base, expires: session.access.expiresAt });
  setCookie(c, refreshCookie, session.refresh.token, { ...base, expires: session.refresh.expiresAt });
}

/** `nav` is filled once every module is mounted; pages read it when they render. */
export function createDashboardKit(deps: {
  tokens: Tokens;
  users: Users;
  nav: readonly NavEntry[];
}): DashboardKit {
  const { tokens, users } = deps;
  return {
    get nav() {
      return deps.nav;
    },
    async userOf(c) {
      const access = getCookie(c, accessCookie);
      if (access) {
        try {
          const claims = await tokens.verifyAccess(access);
          const user = await users.get(claims.sub);
          return { kind: 'user', id: user.id, role: user.role, sites: user.sites, email: user.email };
        } catch (error) {
          if (!(error instanceof UnauthenticatedError)) throw error;
          // Expired or invalid: fall through to the refresh cookie.
        }
      }
      const refresh = getCookie(c, refreshCookie);
      if (!refresh) return undefined;
      try {
        const session = await users.refresh(refresh);
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
    },
    async actorNames(actors) {
      const ids = [...new Set(actors)].filter((a) => a.startsWith('user:'));
      const named = new Map<string, string>();
      await Promise.all(
        ids.map(async (actor) => {
          const user = await users.get(actor.slice('user:'.length)).catch((error: unknown) => {
            if (error instanceof NotFoundError) return undefined;
            throw error;
          });
          if (user) named.set(actor, user.name ? `${user.name} (${user.email})` : user.email);
        }),
      );
      return (actor) => named.get(actor) ?? actor;
    },
    toLogin: (c) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`),
    forbidden: (c) => errorPage(c, 403, 'Your account may not see this page.'),
    page: (c, options, body, status = 200) =>
      c.html(
        <Layout
          title={options.title}
          nav={deps.nav}
          user={options.user}
          {...(options.active ? { active: options.active } : {})}
          {...(options.siteId ? { siteId: options.siteId } : {})}
          {...(options.scripts ? { scripts: options.scripts } : {})}
        >
          {body}
        </Layout>,
        status,
      ),
  };
}
