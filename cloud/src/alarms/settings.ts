import { type ConfigOf, loadConfig, setting } from '@bitv/shared';
import { z } from 'zod';

/** The alarm rules' thresholds: environment defaults, overridden per site through the API. */
export const alarmSettingsSpec = {
  gatewayOfflineAfterMs: setting.int('BV_ALARM_GATEWAY_OFFLINE_MS', {
    default: '120000',
    min: 1000,
    description: 'a gateway offline (NDEATH) longer than this raises gateway_offline',
  }),
  queueDepthMax: setting.int('BV_ALARM_QUEUE_DEPTH_MAX', {
    default: '10000',
    min: 1,
    description: "an edge agent's outbox deeper than this raises queue_depth (cleared at or below it)",
  }),
  readingsLostMin: setting.int('BV_ALARM_READINGS_LOST_MIN', {
    default: '1',
    min: 1,
    description: 'a gap report of at least this many readings raises readings_lost',
  }),
  readingsLostClearMs: setting.int('BV_ALARM_READINGS_LOST_CLEAR_MS', {
    default: '3600000',
    min: 1000,
    description: 'readings_lost clears after this long without a new loss',
  }),
  temperatureMinC: setting.number('BV_ALARM_TEMPERATURE_MIN_C', {
    default: '-10',
    description: 'a shelf reading colder than this raises temperature',
  }),
  temperatureMaxC: setting.number('BV_ALARM_TEMPERATURE_MAX_C', {
    default: '45',
    description: 'a shelf reading warmer than this raises temperature',
  }),
};

export type AlarmSettings = ConfigOf<typeof alarmSettingsSpec>;

/** The documented defaults (what an unset environment gives). */
export const alarmDefaults: AlarmSettings = loadConfig(alarmSettingsSpec, {});

/** A site's overrides (PUT body): any subset of the settings. */
export const siteAlarmSettings = z
  .object({
    gatewayOfflineAfterMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000),
    queueDepthMax: z.number().int().min(1),
    readingsLostMin: z.number().int().min(1),
    readingsLostClearMs: z
      .number()
      .int()
      .min(1000)
      .max(30 * 86_400_000),
    temperatureMinC: z.number().min(-100).max(200),
    temperatureMaxC: z.number().min(-100).max(200),
  })
  .partial()
  .strict()
  .refine(
    (s) =>
      s.temperatureMinC === undefined ||
      s.temperatureMaxC === undefined ||
      s.temperatureMinC <= s.temperatureMaxC,
    { message: 'temperatureMinC is above temperatureMaxC' },
  );

export type SiteAlarmSettings = z.infer<typeof siteAlarmSettings>;
