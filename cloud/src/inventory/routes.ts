import { z } from 'zod';
import { actorOf, assertSite, type Principal, personOf } from '../api/principal.js';
import { idParam, route } from '../api/route.js';
import {
  aisleSchema,
  alertSchema,
  binSchema,
  reservationSchema,
  shelfSchema,
  siteSchema,
  slug,
  stockSchema,
  ttlSeconds,
} from '../api/schemas.js';
import type { RegistryApi } from '../registry/api.js';
import type { Inventory } from './inventory.js';
import type { OwnerScope, Reservations } from './reservations.js';

const floor = ['staff', 'operator', 'admin'] as const;
const managers = ['operator', 'admin'] as const;
const readers = ['staff', 'operator', 'partner', 'admin'] as const;
const reservers = ['partner', 'operator', 'admin'] as const;

/** Partners see and release their own reservations only; operators and admins everyone's. */
function ownerScope(principal: Principal): OwnerScope {
  const person = personOf(principal);
  if (principal.kind === 'gateway' || principal.role === 'partner' || person === null) return person ?? '';
  return undefined;
}

const handCountResult = z.object({
  bin: binSchema,
  previousCount: z.number().int(),
  discrepancy: z.number().int(),
});

const binParams = z.object({ id: z.string().min(1).max(128), bin: z.coerce.number().int().min(0).max(255) });

/** Products, bins, counts, alerts, stock and reservations; a site's layout with its bins. */
export function inventoryRoutes(s: {
  inventory: Inventory;
  reservations: Reservations;
  registry: RegistryApi;
}) {
  const siteOfShelf = async (id: string) => (await s.registry.getShelf(id)).siteId;
  /** A count set by hand (adjustment or cycle count), on a shelf of the caller's sites. */
  const handCount = async (
    principal: Principal,
    params: { id: string; bin: number },
    count: {
      reason: 'adjustment' | 'cycle_count';
      delta?: number;
      counted?: number;
      note?: string | undefined;
    },
  ) => {
    assertSite(principal, await siteOfShelf(params.id));
    const { note, ...rest } = count;
    return s.inventory.setCount({
      shelfId: params.id,
      bin: params.bin,
      ...rest,
      ...(note !== undefined ? { note } : {}),
      actor: actorOf(principal),
    });
  };
  return [
    route({
      method: 'get',
      path: '/api/v1/sites/:id/layout',
      summary: 'A site as the warehouse page shows it: aisles, shelves, bins, open alerts',
      tag: 'registry',
      access: floor,
      params: idParam,
      response: z.object({
        site: siteSchema,
        aisles: z.array(aisleSchema),
        shelves: z.array(shelfSchema),
        bins: z.array(binSchema),
        alerts: z.array(alertSchema),
      }),
      handler: async ({ params, principal }) => {
        assertSite(principal, params.id);
        const [site, aisles, shelves, bins, alerts] = await Promise.all([
          s.registry.getSite(params.id),
          s.registry.listAisles(params.id),
          s.registry.listShelves({ siteId: params.id }),
          s.inventory.binsOfSite(params.id),
          s.inventory.alerts(params.id, 'open'),
        ]);
        return { site, aisles, shelves, bins, alerts };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/shelves/:id/bins/:bin',
      summary:
        'Assign a product to a bin (sku null empties it), with its tare, low-stock threshold and optionally its count',
      tag: 'inventory',
      access: managers,
      params: binParams,
      body: z.object({
        sku: slug.nullable(),
        tareG: z.number().min(-100_000).max(100_000).optional(),
        lowStockThreshold: z.number().int().min(0).max(1_000_000).nullable().optional(),
        count: z.number().int().min(0).max(1_000_000).optional(),
      }),
      response: binSchema,
      handler: async ({ params, body, principal }) => {
        assertSite(principal, await siteOfShelf(params.id));
        return s.inventory.assign({
          ...body,
          shelfId: params.id,
          bin: params.bin,
          actor: actorOf(principal),
        });
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/shelves/:id/bins/:bin',
      summary: 'One bin: product, count, confidence, weight, light',
      tag: 'inventory',
      access: floor,
      params: binParams,
      response: binSchema,
      handler: async ({ params, principal }) => {
        assertSite(principal, await siteOfShelf(params.id));
        return s.inventory.bin(params.id, params.bin);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/shelves/:id/bins/:bin/adjustments',
      summary: 'Adjust a count by hand (damaged, found); the scale is re-aligned to the new count',
      tag: 'inventory',
      access: floor,
      params: binParams,
      body: z.object({
        delta: z
          .number()
          .int()
          .min(-1_000_000)
          .max(1_000_000)
          .refine((d) => d !== 0, 'delta must not be 0'),
        note: z.string().max(500).optional(),
      }),
      response: handCountResult,
      handler: ({ params, body, principal }) =>
        handCount(principal, params, { reason: 'adjustment', delta: body.delta, note: body.note }),
    }),
    route({
      method: 'post',
      path: '/api/v1/shelves/:id/bins/:bin/cycle-counts',
      summary: 'Record a cycle count (what a person counted); returns the discrepancy',
      tag: 'inventory',
      access: floor,
      params: binParams,
      body: z.object({
        counted: z.number().int().min(0).max(1_000_000),
        note: z.string().max(500).optional(),
      }),
      response: handCountResult,
      handler: ({ params, body, principal }) =>
        handCount(principal, params, { reason: 'cycle_count', counted: body.counted, note: body.note }),
    }),
    route({
      method: 'get',
      path: '/api/v1/sites/:id/alerts',
      summary: 'Low-stock alerts of a site',
      tag: 'inventory',
      access: floor,
      params: z.object({ id: z.string().min(1) }),
      query: z.object({ status: z.enum(['open', 'cleared', 'all']).default('open') }),
      response: z.object({ alerts: z.array(alertSchema) }),
      errors: { '404': 'no such site' },
      handler: async ({ params, query, principal }) => {
        assertSite(principal, params.id);
        await s.registry.getSite(params.id); // an unknown site is a 404, not an empty list
        return { alerts: await s.inventory.alerts(params.id, query.status) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/stock/:sku',
      summary: 'Stock of a SKU: on hand (from shelf weight), reserved, available, per bin',
      tag: 'inventory',
      access: readers,
      params: z.object({ sku: z.string().min(1).max(64) }),
      query: z.object({ siteId: z.string().min(1).optional() }),
      response: stockSchema,
      errors: { '404': 'no such product, or no such site' },
      handler: async ({ params, query, principal }) => {
        if (query.siteId) {
          assertSite(principal, query.siteId);
          await s.registry.getSite(query.siteId);
        }
        return s.inventory.stock(params.sku, query.siteId);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/reservations',
      summary: 'Reserve units of a SKU (idempotent on reference); 409 when fewer are available',
      tag: 'inventory',
      access: reservers,
      body: z.object({
        sku: z.string().min(1).max(64),
        quantity: z.number().int().min(1).max(1_000_000),
        reference: z.string().min(1).max(200),
        ttlSeconds: ttlSeconds(900, 7 * 86_400),
      }),
      response: reservationSchema,
      status: 201,
      errors: { '409': 'fewer units available, or the reference is used by another reservation' },
      handler: ({ body, principal }) => s.reservations.reserve({ ...body, ownerId: personOf(principal) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/reservations',
      summary: "Reservations, newest first: a partner's own, everyone's for operators and admins",
      tag: 'inventory',
      access: reservers,
      query: z.object({
        status: z.enum(['active', 'released', 'expired']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: z.object({ reservations: z.array(reservationSchema) }),
      handler: async ({ query, principal }) => ({
        reservations: await s.reservations.list({ ...query, owner: ownerScope(principal) }),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/reservations/:id',
      summary: "One reservation (a partner's own; any for operators and admins)",
      tag: 'inventory',
      access: reservers,
      params: z.object({ id: z.string().uuid() }),
      response: reservationSchema,
      errors: { '404': 'no such reservation (or another partner’s)' },
      handler: ({ params, principal }) => s.reservations.get(params.id, ownerScope(principal)),
    }),
    route({
      method: 'post',
      path: '/api/v1/reservations/:id/release',
      summary: "Release a reservation (a partner's own; releasing twice is not an error)",
      tag: 'inventory',
      access: reservers,
      params: z.object({ id: z.string().uuid() }),
      response: reservationSchema,
      errors: { '404': 'no such reservation (or another partner’s)' },
      handler: ({ params, principal }) => s.reservations.release(params.id, ownerScope(principal)),
    }),
  ];
}
