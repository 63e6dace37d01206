import { NotFoundError } from '@bitv/shared';
import {
  deviceStateV1,
  hardwareAlertV1,
  telemetryGapV1,
  telemetryReadingsV1,
  topics,
} from '@bitv/shared/events';
import { counter } from '@bitv/shared/metrics';
import {
  alarmsNav,
  type GatewayPageApi,
  type GatewayPageSection,
  gatewayPages,
} from '../dashboard/gateway-pages.js';
import type { CloudModule, ModuleContext } from '../module.js';
import { Alarms } from './alarms.js';
import { HealthHistory } from './health-history.js';
import { alarmRoutes } from './routes.js';
import { AlarmRules } from './rules.js';
import { type AlarmSettings, alarmDefaults } from './settings.js';
import { SiteSettings } from './site-settings.js';
import { openAlarmDb } from './tables.js';

/** What the alarms module offers others. */
export interface AlarmsApi {
  list: Alarms['list'];
  /** Per-minute health of a gateway (rate, latency, queue depth), oldest first. */
  health: HealthHistory['of'];
}

export interface AlarmsModuleOptions {
  /** Defaults for every site (the environment's, `alarmSettingsSpec`). */
  settings: Partial<AlarmSettings>;
  /** How often time-based rules run. */
  tickMs: number;
  /** Minutes of health history kept per gateway. */
  healthKeepMinutes: number;
}

const defaults: AlarmsModuleOptions = { settings: {}, tickMs: 5_000, healthKeepMinutes: 24 * 60 };

const timeOf = (time: string | undefined) => (time ? new Date(time) : new Date());

/**
 * Alarms over device state and telemetry, their REST routes, the alarm list page and each
 * gateway's page (which also shows the gateway's shadow when the shadows module is mounted).
 */
export async function createAlarmsModule(
  ctx: ModuleContext,
  options: Partial<AlarmsModuleOptions> = {},
): Promise<CloudModule> {
  const o = { ...defaults, ...options };
  const { registry } = ctx.apis;
  if (!registry) throw new Error('alarms need the registry module');
  const logger = ctx.logger.child({ module: 'alarms' });
  const db = await openAlarmDb(ctx.database);
  const alarms = new Alarms(
    db,
    ctx.eventLog,
    (alarm) => ctx.hub.publish({ type: 'alarm', siteId: alarm.siteId, alarm }),
    logger,
    counter(ctx.metrics, 'bv_cloud_alarm_transitions_total', 'Alarm transitions, by kind', [
      'kind',
      'transition',
    ]),
  );
  const settings = new SiteSettings(db, { ...alarmDefaults, ...o.settings });
  const health = new HealthHistory(db);
  const rules = new AlarmRules(
    db,
    alarms,
    settings,
    health,
    {
      gatewayOfShelf: async (shelfId) => {
        try {
          return (await registry.getShelf(shelfId)).gatewayId ?? undefined;
        } catch (error) {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }
      },
    },
    logger,
  );
  const sections: GatewayPageSection[] = [];
  const gatewayPage: GatewayPageApi = { addSection: (s) => void sections.push(s) };
  const api: AlarmsApi = { list: (f) => alarms.list(f), health: (id, minutes) => health.of(id, minutes) };
  return {
    name: 'alarms',
    routes: alarmRoutes(alarms, settings),
    pages: gatewayPages({ kit: ctx.dashboard, apis: ctx.apis, alarms: api, sections }),
    nav: [alarmsNav],
    consumers: [
      {
        group: 'alarms.device-state',
        topics: [topics.deviceState],
        handle: async (event) => {
          if (event.type === deviceStateV1.type)
            await rules.deviceState(deviceStateV1.schema.parse(event.data), timeOf(event.time));
        },
      },
      {
        group: 'alarms.telemetry',
        // One read of bv.telemetry per process where inventory is mounted (see consumers.ts).
        joins: 'inventory',
        topics: [topics.telemetry],
        handle: async (event) => {
          if (event.type === telemetryReadingsV1.type)
            await rules.readings(telemetryReadingsV1.schema.parse(event.data), new Date());
          else if (event.type === telemetryGapV1.type)
            await rules.gap(telemetryGapV1.schema.parse(event.data));
        },
      },
      {
        group: 'alarms.inventory',
        joins: 'inventory',
        topics: [topics.inventory],
        handle: async (event) => {
          if (event.type !== hardwareAlertV1.type) return;
          const a = hardwareAlertV1.schema.parse(event.data);
          if (a.kind !== 'cell_fault') return;
          await rules.cellFault({
            siteId: a.siteId,
            shelfId: a.shelfId,
            bin: a.bin,
            status: a.status,
            message: a.message,
          });
        },
      },
    ],
    timers: [
      { name: 'alarms.rules', everyMs: o.tickMs, run: () => rules.tick() },
      { name: 'alarms.health-flush', everyMs: 1_000, run: () => health.flush() },
      { name: 'alarms.health-prune', everyMs: 60_000, run: () => health.prune(o.healthKeepMinutes * 60_000) },
    ],
    provides: { alarms: api, gatewayPage },
    async close() {
      // The consumers are closed by now: nothing adds to what this writes.
      await health
        .flush()
        .catch((error: unknown) => logger.warn({ err: error }, 'gateway health not flushed'));
    },
  };
}
