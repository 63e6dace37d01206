import type { Child } from 'hono/jsx';
import type { NavEntry } from '../module.js';

/** The navigation a user sees: entries of their role, in order (stable for equal `order`). */
export function navFor(nav: readonly NavEntry[], role: string): NavEntry[] {
  return nav
    .map((entry, i) => ({ entry, i }))
    .filter(({ entry }) => entry.roles.includes(role))
    .sort((a, b) => (a.entry.order ?? 50) - (b.entry.order ?? 50) || a.i - b.i)
    .map(({ entry }) => entry);
}

export function Layout(props: {
  title: string;
  /** The `id` of the page's navigation entry. */
  active?: string;
  /** Every mounted module's entries (and the core's); the user's role picks what shows. */
  nav?: readonly NavEntry[];
  siteId?: string;
  user?: { email: string; role: string };
  scripts?: string[];
  children: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · BitVelocity</title>
        <link rel="stylesheet" href="/assets/app.css" />
      </head>
      <body data-site={props.siteId ?? ''}>
        {props.user ? (
          <header class="top">
            <div class="logo">
              Bit<span>Velocity</span>
            </div>
            <nav>
              {navFor(props.nav ?? [], props.user.role).map((entry) => (
                <a
                  href={props.siteId && entry.siteHref ? entry.siteHref(props.siteId) : entry.href}
                  class={props.active === entry.id ? 'active' : ''}
                  {...(entry.testId ? { 'data-testid': entry.testId } : {})}
                >
                  {entry.label}
                </a>
              ))}
            </nav>
            <div class="right">
              {/* Only pages that follow the live WebSocket say whether it is connected. */}
              {(props.scripts ?? []).includes('/assets/live.js') ? (
                <span class="live" id="live" data-testid="live-status">
                  <span class="dot" />
                  <span>connecting</span>
                </span>
              ) : null}
              <span>
                {props.user.email} · {props.user.role}
              </span>
              <form method="post" action="/logout" style="margin:0">
                <button type="submit" style="background:#1f2a3d;border-color:#1f2a3d">
                  Log out
                </button>
              </form>
            </div>
          </header>
        ) : null}
        <main>{props.children}</main>
        {(props.scripts ?? []).map((src) => (
          <script src={src} defer />
        ))}
      </body>
    </html>
  );
}
