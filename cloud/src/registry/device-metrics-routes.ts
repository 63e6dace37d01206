import { z } from 'zod';
import { assertSite } from '../api/principal.js';
import { route } from '../api/route.js';
import type { DeviceMetrics } from './device-metrics.js';
import type { Registry } from './registry.js';

const floor = ['staff', 'operator', 'admin'] as const;

const value = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const metricSchema = z.object({
  name: z.string(),
  type: z.string().describe('Sparkplug B data type, e.g. Double, Int32, String, Boolean'),
  value,
  time: z.string().describe('When the value was taken (the metric timestamp), ISO 8601'),
  historical: z.boolean().describe('Forwarded from the edge node store (Sparkplug is_historical)'),
  history: z
    .array(z.object({ time: z.string(), value }))
    .optional()
    .describe('Recent values, newest first (with ?history=N)'),
});
const deviceMetricsSchema = z.object({
  gatewayId: z.string(),
  deviceId: z.string().nullable().describe('null: the edge node itself (NBIRTH/NDATA metrics)'),
  metrics: z.array(metricSchema),
});
const history = z.coerce.number().int().min(0).max(100).optional();
const id = z.string().min(1).max(128);

/**
 * Generic telemetry of any Sparkplug B edge node or device (bv.telemetry.metrics.v1), including
 * third-party ones whose metrics are not shelf readings.
 */
export function deviceMetricsRoutes(s: { registry: Registry; deviceMetrics: DeviceMetrics }) {
  const gatewaySite = async (gatewayId: string) => (await s.registry.getGateway(gatewayId)).siteId;
  return [
    route({
      method: 'get',
      path: '/api/v1/gateways/:id/metrics',
      summary: "Latest metrics of a gateway's edge node and of each of its Sparkplug devices",
      tag: 'fleet',
      access: floor,
      params: z.object({ id }),
      query: z.object({ history }),
      response: z.object({ devices: z.array(deviceMetricsSchema) }),
      handler: async ({ params, query, principal }) => {
        assertSite(principal, await gatewaySite(params.id));
        return { devices: await s.deviceMetrics.ofGateway(params.id, { history: query.history ?? 0 }) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/devices/:gatewayId/:deviceId/metrics',
      summary: 'Latest metrics of one Sparkplug device, with recent values (?history=N, default 10)',
      tag: 'fleet',
      access: floor,
      params: z.object({ gatewayId: id, deviceId: id }),
      query: z.object({ history }),
      response: deviceMetricsSchema,
      handler: async ({ params, query, principal }) => {
        assertSite(principal, await gatewaySite(params.gatewayId));
        const [device] = await s.deviceMetrics.ofGateway(params.gatewayId, {
          deviceId: params.deviceId,
          history: query.history ?? 10,
        });
        return device ?? { gatewayId: params.gatewayId, deviceId: params.deviceId, metrics: [] };
      },
    }),
  ];
}
