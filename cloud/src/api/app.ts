import { NotFoundError } from '@bitv/shared';
import { consumersHealth } from '@bitv/shared/event-log';
import { healthResponse, metricsResponse } from '@bitv/shared/ops';
import { Hono } from 'hono';
import { errorPageOf, notFoundPage, wantsPage } from '../dashboard/error-page.js';
import { dashboardRoutes } from '../dashboard/routes.js';
import { authenticator } from './authenticate.js';
import { errorJson, errorResponse } from './errors.js';
import { openApiDocument } from './openapi.js';
import { type AnyRoute, mountRoutes } from './route.js';
import { authRoutes } from './routes/auth.js';
import { deviceMetricsRoutes } from './routes/device-metrics.js';
import { inventoryRoutes } from './routes/inventory.js';
import { registryRoutes } from './routes/registry.js';
import type { Services } from './services.js';

export const apiVersion = '1.0.0';

export function apiRoutes(s: Services): AnyRoute[] {
  return [...authRoutes(s), ...registryRoutes(s), ...inventoryRoutes(s), ...deviceMetricsRoutes(s)];
}

/** The cloud's HTTP app: REST API, OpenAPI document, health and metrics, and the dashboard. */
export function createApp(s: Services): { app: Hono; routes: AnyRoute[] } {
  const app = new Hono();
  const routes = apiRoutes(s);
  const authenticate = authenticator(s);
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
      for (const [name, ping] of [
        ['database', () => s.database.ping()],
        ['eventLog', () => s.eventLog.ping()],
      ] as const) {
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
      return { ok, checks };
    }),
  );
  app.get('/metrics', () => metricsResponse(s.metrics));
  app.route('/', dashboardRoutes(s, document));
  app.all('/api/*', () => {
    throw new NotFoundError('no such API route');
  });
  return { app, routes };
}
