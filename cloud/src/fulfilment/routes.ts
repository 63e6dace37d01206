import { z } from 'zod';
import { actorOf, assertSite, canSeeSite } from '../api/principal.js';
import { type AnyRoute, idParam, route } from '../api/route.js';
import type { Fulfilment } from './fulfilment.js';

const readers = ['staff', 'operator', 'admin'] as const;
const slug = z.string().min(1).max(128);

const lineSchema = z.object({
  lineId: z.string(),
  sku: z.string(),
  quantity: z.number().int(),
  shelfId: z.string().nullable(),
  bin: z.number().int().nullable(),
  baseline: z.number().int(),
  taken: z.number().int(),
  status: z.enum(['open', 'confirmed', 'short']),
});

export const pickSchema = z.object({
  pickId: z.string(),
  orderId: z.string(),
  siteId: z.string(),
  status: z.enum(['open', 'picking', 'picked', 'short', 'cancelled']),
  lines: z.array(lineSchema),
  misPicks: z.array(
    z.object({
      alertId: z.string(),
      shelfId: z.string(),
      bin: z.number().int(),
      sku: z.string().nullable(),
      baseline: z.number().int(),
      taken: z.number().int(),
      lineId: z.string().optional(),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The pick station's API: lists, the one in progress, starting one. */
export function fulfilmentRoutes(fulfilment: Fulfilment): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/picks',
      summary: 'Pick lists, newest first (filter by site and status)',
      tag: 'fulfilment',
      access: readers,
      query: z.object({
        siteId: slug.optional(),
        status: z.enum(['open', 'picking', 'picked', 'short', 'cancelled']).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional(),
      }),
      response: z.object({ picks: z.array(pickSchema) }),
      handler: async ({ query, principal }) => {
        if (query.siteId) assertSite(principal, query.siteId);
        const picks = await fulfilment.list(query);
        return { picks: picks.filter((p) => canSeeSite(principal, p.siteId)) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/sites/:id/pick',
      summary: "The site's pick in progress (what the pick station shows); null when none",
      tag: 'fulfilment',
      access: readers,
      params: idParam,
      response: z.object({ pick: pickSchema.nullable() }),
      handler: async ({ params, principal }) => {
        assertSite(principal, params.id);
        return { pick: (await fulfilment.current(params.id)) ?? null };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/picks/:id',
      summary: 'One pick list with its lines and open mis-picks',
      tag: 'fulfilment',
      access: readers,
      params: idParam,
      response: pickSchema,
      errors: { '404': 'no such pick list' },
      handler: async ({ params, principal }) => {
        const pick = await fulfilment.get(params.id);
        assertSite(principal, pick.siteId);
        return pick;
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/picks/:id/start',
      summary: "Start a pick: its bins light up (refused while another of the site's picks is in progress)",
      tag: 'fulfilment',
      access: readers,
      params: idParam,
      response: pickSchema,
      errors: { '404': 'no such pick list' },
      handler: async ({ params, principal }) => {
        assertSite(principal, (await fulfilment.get(params.id)).siteId);
        return fulfilment.start(params.id, actorOf(principal));
      },
    }),
  ];
}
