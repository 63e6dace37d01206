import type { Child } from 'hono/jsx';

export function Layout(props: {
  title: string;
  active?: 'warehouse' | 'fleet' | 'api';
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
              {props.user.role === 'partner' ? null : (
                <>
                  <a
                    href={props.siteId ? `/sites/${props.siteId}` : '/'}
                    class={props.active === 'warehouse' ? 'active' : ''}
                  >
                    Warehouse
                  </a>
                  <a href="/fleet" class={props.active === 'fleet' ? 'active' : ''}>
                    Fleet
                  </a>
                </>
              )}
              {props.user.role === 'partner' || props.user.role === 'admin' ? (
                <a href="/partner" class={props.active === 'api' ? 'active' : ''} data-testid="nav-api">
                  API
                </a>
              ) : null}
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
