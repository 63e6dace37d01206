import { ForbiddenError } from '@bitv/shared';
import { z } from 'zod';
import { actorOf, assertSite, canSeeSite } from '../api/principal.js';
import { idParam, route } from '../api/route.js';
import {
  aisleSchema,
  gatewaySchema,
  provisionResultSchema,
  shelfSchema,
  siteSchema,
  slug,
  ttlSeconds,
} from '../api/schemas.js';
import type { Provisioning } from './provisioning.js';
import type { Registry } from './registry.js';

const everyone = ['staff', 'operator', 'partner', 'admin'] as const;
const floor = ['staff', 'operator', 'admin'] as const;
const fleet = ['operator', 'admin'] as const;

/** Sites, aisles, gateways, shelves, claim tokens, provisioning and gateway credentials. */
export function registryRoutes(s: { registry: Registry; provisioning: Provisioning }) {
  const siteOfGateway = async (id: string) => (await s.registry.getGateway(id)).siteId;
  return [
    route({
      method: 'get',
      path: '/api/v1/sites',
      summary: 'Sites (warehouses) the caller may see',
      tag: 'registry',
      access: everyone,
      response: z.object({ sites: z.array(siteSchema) }),
      handler: async ({ principal }) => ({
        sites: (await s.registry.listSites()).filter((site) => canSeeSite(principal, site.id)),
      }),
    }),
    route({
      method: 'post',
      path: '/api/v1/sites',
      summary: 'Create a site',
      tag: 'registry',
      access: ['admin'],
      body: z.object({ id: slug, name: z.string().min(1).max(200) }),
      response: siteSchema,
      status: 201,
      handler: ({ body }) => s.registry.createSite(body),
    }),
    route({
      method: 'post',
      path: '/api/v1/sites/:id/aisles',
      summary: 'Add an aisle to a site',
      tag: 'registry',
      access: fleet,
      params: idParam,
      body: z.object({
        id: slug,
        name: z.string().min(1).max(200),
        position: z.number().int().min(0).default(0),
      }),
      response: aisleSchema,
      status: 201,
      handler: ({ params, body, principal }) => {
        assertSite(principal, params.id);
        return s.registry.createAisle({ ...body, siteId: params.id });
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways',
      summary: 'Gateways with their state (online, queue depth, last seen, agent version)',
      tag: 'fleet',
      access: floor,
      query: z.object({ siteId: z.string().optional() }),
      response: z.object({ gateways: z.array(gatewaySchema) }),
      handler: async ({ query, principal }) => {
        if (query.siteId) {
          assertSite(principal, query.siteId);
          await s.registry.getSite(query.siteId); // an unknown site is a 404, not an empty list
        }
        const all = await s.registry.listGateways(query.siteId);
        return { gateways: all.filter((g) => canSeeSite(principal, g.siteId)) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/gateways',
      summary: 'Register a gateway before it is claimed',
      tag: 'fleet',
      access: fleet,
      body: z.object({
        id: slug,
        siteId: z.string().min(1),
        aisleId: z.string().min(1).optional(),
        name: z.string().max(200).optional(),
      }),
      response: gatewaySchema,
      status: 201,
      handler: ({ body, principal }) => {
        assertSite(principal, body.siteId);
        return s.registry.createGateway(body);
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/gateways/:id',
      summary: 'One gateway',
      tag: 'fleet',
      access: floor,
      params: idParam,
      response: gatewaySchema,
      handler: async ({ params, principal }) => {
        const g = await s.registry.getGateway(params.id);
        assertSite(principal, g.siteId);
        return g;
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/gateways/:id/shelves',
      summary: 'Register a shelf controller under a gateway (shelves also register themselves on DBIRTH)',
      tag: 'fleet',
      access: fleet,
      params: idParam,
      body: z.object({
        serialNumber: slug,
        binCount: z.number().int().min(1).max(64),
        aisleId: z.string().min(1).optional(),
        position: z.number().int().min(0).optional(),
      }),
      response: shelfSchema,
      status: 201,
      handler: async ({ params, body, principal }) => {
        assertSite(principal, await siteOfGateway(params.id));
        return s.registry.createShelf({ ...body, gatewayId: params.id });
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/shelves',
      summary: 'Shelf controllers of a site',
      tag: 'registry',
      access: floor,
      query: z.object({ siteId: z.string().min(1) }),
      response: z.object({ shelves: z.array(shelfSchema) }),
      handler: async ({ query, principal }) => {
        assertSite(principal, query.siteId);
        await s.registry.getSite(query.siteId); // an unknown site is a 404, not an empty list
        return { shelves: await s.registry.listShelves({ siteId: query.siteId }) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/claim-tokens',
      summary:
        'Create one-time claim tokens for a site: `count` anonymous ones, or one per listed gateway id',
      tag: 'fleet',
      access: fleet,
      body: z
        .object({
          siteId: z.string().min(1),
          count: z.number().int().min(1).max(500).optional(),
          gatewayIds: z.array(slug).min(1).max(500).optional(),
          aisleId: z.string().min(1).optional(),
          ttlSeconds: ttlSeconds(86_400, 30 * 86_400),
        })
        .refine(
          (b) => !(b.count !== undefined && b.gatewayIds !== undefined),
          'give count or gatewayIds, not both',
        ),
      response: z.object({
        batchId: z.string(),
        tokens: z.array(
          z.object({ token: z.string(), gatewayId: z.string().nullable(), expiresAt: z.string() }),
        ),
      }),
      status: 201,
      handler: ({ body, principal }) => {
        assertSite(principal, body.siteId);
        return s.provisioning.createClaimTokens({ ...body, createdBy: actorOf(principal) });
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/provision',
      summary: "Exchange a claim token for the gateway's credential (called by `bitv-edge provision`)",
      tag: 'fleet',
      access: 'public',
      body: z.object({
        claimToken: z.string().min(1).max(200),
        hostname: z.string().max(255).optional(),
        agentVersion: z.string().max(64).optional(),
      }),
      response: provisionResultSchema,
      handler: ({ body }) => s.provisioning.provision(body),
    }),
    route({
      method: 'post',
      path: '/api/v1/gateways/:id/credential/rotate',
      summary: 'A gateway swaps its current credential (the Bearer token) for a new one',
      tag: 'fleet',
      access: 'gateway',
      params: idParam,
      response: provisionResultSchema,
      handler: ({ params, principal }) => {
        if (principal.kind !== 'gateway' || principal.id !== params.id) {
          throw new ForbiddenError('a gateway may rotate only its own credential');
        }
        return s.provisioning.rotate({
          edgeNodeId: principal.id,
          groupId: principal.groupId,
          jti: principal.jti,
        });
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/gateways/:id/credential/revoke',
      summary: 'Revoke every credential of a gateway; the broker drops its session',
      tag: 'fleet',
      access: fleet,
      params: idParam,
      response: z.object({ revoked: z.number().int() }),
      handler: async ({ params, principal }) => {
        assertSite(principal, await siteOfGateway(params.id));
        return { revoked: await s.provisioning.revokeAll(params.id) };
      },
    }),
  ];
}
