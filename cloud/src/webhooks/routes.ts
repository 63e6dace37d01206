import { ForbiddenError } from '@bitv/shared';
import { z } from 'zod';
import { type Principal, personOf } from '../api/principal.js';
import { route } from '../api/route.js';
import { isValidFilter, webhookEventTypes } from './event-types.js';
import type { WebhookService } from './service.js';
import type { Endpoint, WebhookStore } from './store.js';

const owners = ['partner', 'admin'] as const;

const filterSchema = z
  .string()
  .min(1)
  .max(100)
  .refine(isValidFilter, { message: 'unknown event type (see GET /api/v1/webhooks/event-types)' });

export const endpointInput = z
  .object({
    url: z.string().min(1).max(2000),
    description: z.string().max(500).optional(),
    eventTypes: z.array(filterSchema).min(1).max(50),
    inOrder: z.boolean().optional(),
    ratePerSecond: z.number().positive().max(10_000).nullable().optional(),
  })
  .strict();

const endpointPatch = endpointInput.partial().extend({ enabled: z.boolean().optional() }).strict();

const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  secret: z.string(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  inOrder: z.boolean(),
  ratePerSecond: z.number().nullable(),
  failingSince: z.string().nullable(),
  createdAt: z.string(),
});

const deliveryView = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'dead']),
  attempts: z.number().int(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  log: z.array(
    z.object({
      attempt: z.number().int(),
      at: z.string(),
      ok: z.boolean(),
      statusCode: z.number().int().nullable(),
      latencyMs: z.number().int(),
      error: z.string().nullable(),
      responseSnippet: z.string().nullable(),
    }),
  ),
});

const idParam = z.object({ id: z.string().uuid() }).strict();
const deliveryParam = z.object({ id: z.string().uuid(), deliveryId: z.string().min(1).max(100) }).strict();
const windowBody = z
  .object({ from: z.string().datetime({ offset: true }), to: z.string().datetime({ offset: true }) })
  .strict()
  .refine((w) => Date.parse(w.from) <= Date.parse(w.to), { message: 'from must not be after to' });

const view = ({ ownerId: _owner, ...rest }: Endpoint) => rest;

/** The caller's own endpoint (an admin may touch any); another partner's is 404, not 403. */
export async function ownEndpoint(store: WebhookStore, principal: Principal, id: string): Promise<Endpoint> {
  const endpoint = await store.endpoint(id);
  if (principal.kind !== 'gateway' && principal.role === 'admin') return endpoint;
  if (endpoint.ownerId !== personOf(principal)) await store.endpoint('00000000-0000-0000-0000-000000000000');
  return endpoint;
}

function ownerOf(principal: Principal): string {
  const owner = personOf(principal);
  if (!owner) throw new ForbiddenError('webhook endpoints belong to a person');
  return owner;
}

export function webhookRoutes(store: WebhookStore, service: WebhookService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/webhooks/event-types',
      summary: 'Event types a webhook endpoint can subscribe to (or `*`, or a prefix like `bv.order.*`)',
      tag: 'webhooks',
      access: owners,
      response: z.array(z.object({ type: z.string(), description: z.string() })),
      handler: async () => [...webhookEventTypes],
    }),
    route({
      method: 'get',
      path: '/api/v1/webhooks/endpoints',
      summary: "The caller's webhook endpoints with their signing secrets",
      tag: 'webhooks',
      access: owners,
      response: z.array(endpointView),
      handler: async ({ principal }) => (await store.endpoints(ownerOf(principal))).map(view),
    }),
    route({
      method: 'post',
      path: '/api/v1/webhooks/endpoints',
      summary:
        'Register an endpoint: URL (public addresses only), event types, optional in-order delivery and rate limit; the answer holds its whsec_ secret',
      tag: 'webhooks',
      access: owners,
      body: endpointInput,
      response: endpointView,
      status: 201,
      handler: async ({ principal, body }) => view(await service.createEndpoint(ownerOf(principal), body)),
    }),
    route({
      method: 'patch',
      path: '/api/v1/webhooks/endpoints/:id',
      summary: 'Change an endpoint; `enabled: true` turns a disabled one back on',
      tag: 'webhooks',
      access: owners,
      params: idParam,
      body: endpointPatch,
      response: endpointView,
      errors: { '404': 'no such endpoint of yours' },
      handler: async ({ principal, params, body }) => {
        await ownEndpoint(store, principal, params.id);
        return view(await service.updateEndpoint(params.id, body));
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/webhooks/endpoints/:id',
      summary: 'Remove an endpoint and its delivery log',
      tag: 'webhooks',
      access: owners,
      params: idParam,
      response: z.object({ deleted: z.literal(true) }),
      errors: { '404': 'no such endpoint of yours' },
      handler: async ({ principal, params }) => {
        await ownEndpoint(store, principal, params.id);
        await store.deleteEndpoint(params.id);
        return { deleted: true as const };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/webhooks/endpoints/:id/deliveries',
      summary:
        "An endpoint's newest deliveries with every attempt (status, latency, response code and snippet)",
      tag: 'webhooks',
      access: owners,
      params: idParam,
      response: z.array(deliveryView),
      errors: { '404': 'no such endpoint of yours' },
      handler: async ({ principal, params }) => {
        await ownEndpoint(store, principal, params.id);
        const rows = await store.deliveries(params.id, { limit: 50 });
        return Promise.all(
          rows.map(async (r) => ({
            id: r.id,
            eventId: r.eventId,
            eventType: r.eventType,
            status: r.status,
            attempts: r.attempts,
            createdAt: r.createdAt,
            lastAttemptAt: r.lastAttemptAt,
            deliveredAt: r.deliveredAt,
            log: (await store.attempts(r.id)).map(({ deliveryId: _d, ...a }) => a),
          })),
        );
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/webhooks/endpoints/:id/deliveries/:deliveryId/retry',
      summary: 'Send one delivery again now',
      tag: 'webhooks',
      access: owners,
      params: deliveryParam,
      response: z.object({ queued: z.literal(true) }),
      errors: { '404': 'no such endpoint or delivery of yours' },
      handler: async ({ principal, params }) => {
        await ownEndpoint(store, principal, params.id);
        const d = await store.delivery(params.deliveryId);
        if (d.endpointId !== params.id) await store.delivery('none');
        await service.retry(d.id);
        return { queued: true as const };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/webhooks/endpoints/:id/replay',
      summary: 'Send again every delivery of the endpoint created in a time window',
      tag: 'webhooks',
      access: owners,
      params: idParam,
      body: windowBody,
      response: z.object({ queued: z.number().int() }),
      errors: { '404': 'no such endpoint of yours' },
      handler: async ({ principal, params, body }) => {
        await ownEndpoint(store, principal, params.id);
        return { queued: await service.replay(params.id, body.from, body.to) };
      },
    }),
  ];
}
