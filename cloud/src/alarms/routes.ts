import { alarm, alarmKinds, alarmStates } from '@bitv/shared/events';
import { z } from 'zod';
import { actorOf, assertSite, type Principal } from '../api/principal.js';
import { type AnyRoute, route } from '../api/route.js';
import type { Alarms } from './alarms.js';
import { alarmSettingsSpec, siteAlarmSettings } from './settings.js';
import type { SiteSettings } from './site-settings.js';

const floor = ['staff', 'operator', 'admin'] as const;
const fleet = ['operator', 'admin'] as const;
const id = z.string().min(1).max(128);

const sitesOf = (p: Principal): readonly string[] | null => (p.kind === 'gateway' ? [p.groupId] : p.sites);

const settingsSchema = z.object(
  Object.fromEntries(Object.keys(alarmSettingsSpec).map((k) => [k, z.number()])) as Record<
    keyof typeof alarmSettingsSpec,
    z.ZodNumber
  >,
);

export function alarmRoutes(alarms: Alarms, settings: SiteSettings): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/alarms',
      summary:
        'Alarms, newest first, filtered by site, gateway, state (`open` = active or acknowledged) and kind',
      tag: 'alarms',
      access: floor,
      query: z.object({
        siteId: id.optional(),
        gatewayId: id.optional(),
        state: z.enum([...alarmStates, 'open']).optional(),
        kind: z.enum(alarmKinds).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      response: z.object({ alarms: z.array(alarm) }),
      handler: async ({ query, principal }) => {
        if (query.siteId) assertSite(principal, query.siteId);
        return {
          alarms: await alarms.list({
            sites: sitesOf(principal),
            ...(query.siteId ? { siteId: query.siteId } : {}),
            ...(query.gatewayId ? { gatewayId: query.gatewayId } : {}),
            ...(query.state ? { state: query.state } : {}),
            ...(query.kind ? { kind: query.kind } : {}),
            ...(query.limit ? { limit: query.limit } : {}),
          }),
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/alarms/:id',
      summary: 'One alarm',
      tag: 'alarms',
      access: floor,
      params: z.object({ id }),
      response: alarm,
      errors: { '404': 'no such alarm (or not on a site the caller sees)' },
      handler: async ({ params, principal }) => alarms.get(params.id, sitesOf(principal)),
    }),
    route({
      method: 'post',
      path: '/api/v1/alarms/:id/acknowledge',
      summary: 'Acknowledges an active alarm (it stays open until its cause clears)',
      tag: 'alarms',
      access: floor,
      params: z.object({ id }),
      response: alarm,
      errors: { '404': 'no such alarm', '409': 'the alarm is not active' },
      handler: async ({ params, principal }) =>
        alarms.acknowledge(params.id, actorOf(principal), sitesOf(principal)),
    }),
    route({
      method: 'get',
      path: '/api/v1/sites/:id/alarm-settings',
      summary: "A site's alarm thresholds: effective values and the site's own overrides",
      tag: 'alarms',
      access: floor,
      params: z.object({ id }),
      response: z.object({ effective: settingsSchema, overrides: z.record(z.string(), z.number()) }),
      handler: async ({ params, principal }) => {
        assertSite(principal, params.id);
        return { effective: await settings.of(params.id), overrides: await settings.overrides(params.id) };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/sites/:id/alarm-settings',
      summary: "Replaces a site's alarm overrides (unset ones take the process defaults)",
      tag: 'alarms',
      access: fleet,
      params: z.object({ id }),
      body: siteAlarmSettings,
      response: z.object({ effective: settingsSchema, overrides: z.record(z.string(), z.number()) }),
      handler: async ({ params, body, principal }) => {
        assertSite(principal, params.id);
        const effective = await settings.set(params.id, body);
        return { effective, overrides: body };
      },
    }),
  ];
}
