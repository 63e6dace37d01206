import { NotFoundError } from '@bitv/shared';
import { consumersHealth } from '@bitv/shared/event-log';
import { healthResponse, metricsResponse } from '@bitv/shared/ops';
import { Hono } from 'hono';
import { errorPageOf, notFoundPage, wantsPage } from '../dashboard/error-page.js';
import type { DashboardKit } from '../dashboard/kit.js';
import { dashboardRoutes } from '../dashboard/routes.js';
import type { ModuleApis } from '../module.js';
import type { MountedModules } from '../modules.js';
import { authenticator } from './authenticate.js';
import { errorJson, errorResponse } from './errors.js';
import { openApiDocument } from './openapi.js';
import { type AnyRoute, mountRoutes } from './route.js';
import { authRoutes } from './routes/auth.js';
import type { CoreServices } from './services.js';

export const apiVersion = '1.0.0';

/**
 * The cloud's HTTP app: the core's routes (auth, keys) and the mounted modules' REST routes, the
 * OpenAPI document of exactly those, health and metrics, the dashboard shell and the modules' pages.
 */
export function createApp(
  s: CoreServices,
  mounted: Pick<MountedModules, 'names' | 'routes' | 'pages' | 'health'>,
  kit: DashboardKit,
  apis: Partial<ModuleApis>,
): { app: Hono; routes: AnyRoute[] } {
  const app = new Hono();
  const routes = [...authRoutes(s), ...mounted.routes];
  const authenticate = authenticator({
    ...s,
    // Device credentials are the registry's: without it no gateway route is mounted anyway.
    isCredentialActive: (jti) => apis.registry?.isCredentialActive(jti) ?? Promise.resolve(false),
  });
  // Browsers get pages in the dashboard's style; the API and scripts keep the JSON error shape.
  app.onError((error, c) =>
    wantsPage(c) ? errorPageOf(c, error, s.logger) : errorResponse(c, error, s.logger),
  );
  app.notFound((c) =>
    wantsPage(c)
      ? notFoundPage(c)
      : c.json(errorJson('not_found', `no route ${c.req.method} ${c.req.path}`), 404),
  );
  mountRoutes(app, routes, authenticate);
  const document = openApiDocument(routes, { version: apiVersion });
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/healthz', () =>
    healthResponse(async () => {
      const checks: Record<string, unknown> = {};
      let ok = true;
      const pings: [string, () => Promise<unknown>][] = [
        ['database', () => s.database.ping()],
        ['eventLog', () => s.eventLog.ping()],
        ...Object.entries(mounted.health),
      ];
      for (const [name, ping] of pings) {
        try {
          await ping();
          checks[name] = 'ok';
        } catch (error) {
          ok = false;
          checks[name] = String(error);
        }
      }
      // A crashed consumer (restarting after a Kafka outage) means stock stops counting.
      const consumers = consumersHealth(s.eventLog.consumers());
      checks.consumers = consumers.ok ? 'running' : consumers.down;
      ok &&= consumers.ok;
      checks.liveClients = s.hub.size;
      checks.modules = mounted.names;
      return { ok, checks };
    }),
  );
  app.get('/metrics', () => metricsResponse(s.metrics));
  app.route('/', dashboardRoutes(s, kit, apis, document));
  for (const pages of mounted.pages) app.route('/', pages);
  app.all('/api/*', () => {
    throw new NotFoundError('no such API route');
  });
  return { app, routes };
}
