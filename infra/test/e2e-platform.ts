import { eventually, tempDir } from '@bitv/shared/testing';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { e2eAdmin, fillLogin, launchBrowser } from './browser.js';
import { type RunningPlatform, startPlatformProcess } from './platform-process.js';

/** A bin of the demo site's layout, as `GET /api/v1/sites/:id/layout` lists it. */
export interface LayoutBin {
  shelfId: string;
  bin: number;
  sku: string | null;
  count: number;
  weighed: boolean;
}

/** The platform as `npm start` runs it, an admin's API token, and a Chromium page logged in. */
export interface E2ePlatform {
  platform: RunningPlatform;
  browser: Browser;
  page: Page;
  /** The dashboard/API base URL. */
  url: string;
  /** The admin's access token. */
  token: string;
  /** A JSON call as the admin; a non-2xx answer throws with its status and body. */
  api<T>(path: string, init?: RequestInit): Promise<T>;
  /** The same call with another user's token (none: anonymous). */
  apiAs<T>(token: string | undefined, path: string, init?: RequestInit): Promise<T>;
  /** A user invited by the admin and registered: their id and access token. */
  invite(user: InvitedUser): Promise<{ id: string; token: string }>;
  /** The demo site's bins with their counts. */
  bins(): Promise<LayoutBin[]>;
  /** Closes the browser, stops the platform (Ctrl-C) and removes its folder; the exit code. */
  close(): Promise<number | null>;
}

export const e2eSite = 'demo-site';

/** Whom the admin invites (`POST /api/v1/users/invitations`); they register with `<name>-password-1234`. */
export interface InvitedUser {
  email: string;
  name: string;
  role: string;
  sites?: string[];
}

/**
 * What the e2e tests of the commerce pages share: the platform in a temp folder with the e2e
 * admin (and the given settings), an API token, optionally every bin weighed (orders reserve
 * against counts from weight), and a browser page logged in and landed on `landOn`.
 */
export async function startE2ePlatform(options: {
  dirPrefix: string;
  env: Record<string, string>;
  landOn: string;
  waitWeighed?: boolean;
  /** The browser context's settings beyond the viewport (zone, locale). */
  context?: BrowserContextOptions;
  /** How long the platform may take to start (default 240 s: a loaded 2-core machine has needed minutes under tsx). */
  startTimeoutMs?: number;
}): Promise<E2ePlatform> {
  const { email, password } = e2eAdmin;
  const dir = await tempDir(options.dirPrefix);
  const platform = await startPlatformProcess(
    dir.path,
    { BV_ADMIN_EMAIL: email, BV_ADMIN_PASSWORD: password, ...options.env },
    options.startTimeoutMs ?? 240_000,
  );
  const url = platform.info.dashboardUrl;
  const apiAs = async <T>(bearer: string | undefined, path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        'content-type': 'application/json',
        ...init.headers,
      },
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as T;
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const post = <T>(bearer: string | undefined, path: string, body: unknown) =>
    apiAs<T>(bearer, path, { method: 'POST', body: JSON.stringify(body) });
  const { accessToken: token } = await post<{ accessToken: string }>(undefined, '/api/v1/auth/login', {
    email,
    password,
  });
  const api = <T>(path: string, init: RequestInit = {}) => apiAs<T>(token, path, init);
  const invite = async (user: InvitedUser) => {
    const invited = await post<{ user: { id: string }; inviteToken: string }>(
      token,
      '/api/v1/users/invitations',
      user,
    );
    const registered = await post<{ accessToken: string }>(undefined, '/api/v1/auth/register', {
      inviteToken: invited.inviteToken,
      password: `${user.name.toLowerCase()}-password-1234`,
    });
    return { id: invited.user.id, token: registered.accessToken };
  };
  const bins = async () => (await api<{ bins: LayoutBin[] }>(`/api/v1/sites/${e2eSite}/layout`)).bins;
  if (options.waitWeighed)
    await eventually(async () => (await bins()).every((b) => b.weighed), 'every bin weighed', 120_000, 1_000);
  const browser = await launchBrowser();
  const page = await (
    await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...options.context })
  ).newPage();
  await page.goto(`${url}/login?next=${options.landOn}`);
  await fillLogin(page, email, password);
  const landed = new URL(options.landOn, url).pathname;
  await page.waitForURL((u) => u.pathname === landed);
  return {
    platform,
    browser,
    page,
    url,
    token,
    api,
    apiAs,
    invite,
    bins,
    close: async () => {
      await browser.close();
      const code = await platform.stop();
      await dir.remove();
      return code;
    },
  };
}
