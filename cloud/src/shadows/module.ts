import { NotFoundError } from '@bitv/shared';
import { telemetryMetricsV1, topics } from '@bitv/shared/events';
import { counter } from '@bitv/shared/metrics';
import type { CloudModule, ModuleContext } from '../module.js';
import { reportedShadowOf } from './reported.js';
import { shadowRoutes } from './routes.js';
import { type ShadowOptions, Shadows } from './shadows.js';
import { openShadowDb } from './tables.js';

/** What the shadows module offers others (the gateway page reads a gateway's shadow). */
export interface ShadowsApi {
  get: Shadows['get'];
}

/** How long a shadow command waits at the gateway before it expires (a resend follows anyway). */
const commandTtlSeconds = 300;

/**
 * Device shadows. Needs the registry (a gateway's site) and commands (the path down). Follows
 * `bv.telemetry` for the `shadow/*` node metrics agents report in NBIRTH and NDATA.
 */
export async function createShadowsModule(
  ctx: ModuleContext,
  options: Partial<ShadowOptions> = {},
): Promise<CloudModule> {
  const { registry, commands } = ctx.apis;
  if (!registry || !commands) throw new Error('shadows need the registry and commands modules');
  const logger = ctx.logger.child({ module: 'shadows' });
  const db = await openShadowDb(ctx.database);
  const malformed = counter(
    ctx.metrics,
    'bv_cloud_shadow_reports_dropped_total',
    'Shadow reports dropped, by reason',
    ['reason'],
  );
  const shadows = new Shadows(
    db,
    {
      siteOf: async (gatewayId) => {
        try {
          return (await registry.getGateway(gatewayId)).siteId;
        } catch (error) {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }
      },
      send: (gatewayId, command, requestedBy) =>
        commands.send(gatewayId, { command, ttlSeconds: commandTtlSeconds, requestedBy }),
      announce: (s) =>
        ctx.hub.publish({
          type: 'shadow',
          siteId: s.siteId,
          gatewayId: s.gatewayId,
          version: s.version,
          reportedVersion: s.reportedVersion,
          inSync: s.inSync,
        }),
    },
    ctx.eventLog,
    logger,
    counter(ctx.metrics, 'bv_cloud_shadow_deltas_sent_total', 'Shadow deltas sent to gateways, by why', [
      'why',
    ]),
    options,
  );
  const api: ShadowsApi = { get: (id) => shadows.get(id) };
  return {
    name: 'shadows',
    routes: shadowRoutes(shadows),
    consumers: [
      {
        group: 'shadows.reported',
        // One read of bv.telemetry per process where inventory is mounted (see consumers.ts).
        joins: 'inventory',
        topics: [topics.telemetry],
        handle: async (event) => {
          if (event.type !== telemetryMetricsV1.type) return;
          const parsed = reportedShadowOf(telemetryMetricsV1.schema.parse(event.data));
          if (parsed === undefined) return;
          if ('skipped' in parsed) {
            // A report that never fits would fail on every redelivery: counted, logged, dropped.
            malformed.inc({ reason: 'malformed' });
            logger.warn({ id: event.id, why: parsed.skipped }, 'shadow report dropped');
            return;
          }
          await shadows.applyReported(parsed.report);
        },
      },
    ],
    provides: { shadows: api },
  };
}
