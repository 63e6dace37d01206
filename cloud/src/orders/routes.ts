import { ForbiddenError, NotFoundError } from '@bitv/shared';
import { z } from 'zod';
import { errorJson } from '../api/errors.js';
import { actorOf, canSeeSite, type Principal, personOf } from '../api/principal.js';
import { type AnyRoute, idParam, type RouteInput, route } from '../api/route.js';
import { type ActorRole, maxOrderLines, orderStatuses } from './model.js';
import type { OrderReadModels } from './read-models.js';
import { IdempotencyMismatchError, type OrderService } from './service.js';

const shoppers = ['partner', 'staff', 'operator', 'admin'] as const;
const staff = ['staff', 'operator', 'admin'] as const;
const slug = z.string().min(1).max(128);
const status = z.enum(orderStatuses as [string, ...string[]]);

export const placeOrderBody = z
  .object({
    siteId: slug,
    /** Staff may order for a customer; a shopper's orders are always their own. */
    customerId: slug.optional(),
    lines: z
      .array(
        z
          .object({
            sku: z.string().min(1).max(64),
            quantity: z.number().int().positive().max(1_000_000),
          })
          .strict(),
      )
      .min(1)
      .max(maxOrderLines),
  })
  .strict();

const line = z.object({ lineId: z.string(), sku: z.string(), quantity: z.number().int() });
const placed = z.object({
  orderId: z.string(),
  status: z.string(),
  siteId: z.string(),
  customerId: z.string(),
  lines: z.array(line),
});
const orderSummary = placed.extend({
  units: z.number().int(),
  rejection: z
    .object({ code: z.string(), reason: z.string(), lineId: z.string().nullable().optional() })
    .nullable(),
  version: z.number().int(),
  placedAt: z.string(),
  updatedAt: z.string(),
});
const timeline = z.array(
  z.object({
    version: z.number().int(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    at: z.string(),
  }),
);

/** A shopper (partner) sees their own orders; staff see their sites'. */
export function isShopper(p: Principal): boolean {
  return p.kind !== 'gateway' && p.role === 'partner';
}

export function assertCanSee(p: Principal, order: { siteId: string; customerId: string }): void {
  const visible = isShopper(p) ? order.customerId === personOf(p) : canSeeSite(p, order.siteId);
  // "Not found" rather than "forbidden": an order id says nothing about orders one may not see.
  if (!visible) throw new NotFoundError('order not found');
}

export function orderRoutes(service: OrderService, reads: OrderReadModels): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/orders',
      summary:
        'Place an order (checkout then reserves every line, or rejects it). `Idempotency-Key`: a retry with the same body gets the stored answer; another body gets 422',
      tag: 'orders',
      access: shoppers,
      body: placeOrderBody,
      response: placed,
      status: 201,
      // A Response (its own status: 201, a replay's stored one, 422), typed as the body for OpenAPI.
      handler: (async ({
        body,
        principal,
        c,
      }: RouteInput<unknown, unknown, z.infer<typeof placeOrderBody>>) => {
        const person = personOf(principal) ?? actorOf(principal);
        if (!isShopper(principal) && !canSeeSite(principal, body.siteId)) {
          throw new ForbiddenError(`no access to site ${body.siteId}`);
        }
        const customerId = isShopper(principal) ? person : (body.customerId ?? person);
        const key = c.req.header('idempotency-key');
        if (key !== undefined && (key.length === 0 || key.length > 200)) {
          return c.json(errorJson('validation_failed', 'Idempotency-Key must be 1 to 200 characters'), 400);
        }
        try {
          const outcome = await service.place({
            siteId: body.siteId,
            customerId,
            lines: body.lines,
            by: actorOf(principal),
            caller: actorOf(principal),
            ...(key ? { idempotencyKey: key } : {}),
          });
          if (outcome.replayed) c.header('Idempotent-Replayed', 'true');
          return c.json(outcome.body, outcome.status as 201);
        } catch (error) {
          if (error instanceof IdempotencyMismatchError) {
            return c.json(errorJson('idempotency_key_reused', error.message), 422);
          }
          throw error;
        }
      }) as unknown as () => Promise<z.infer<typeof placed>>,
    }),
    route({
      method: 'get',
      path: '/api/v1/orders',
      summary: "Orders, newest first: a shopper's own; staff filter by site, status and customer",
      tag: 'orders',
      access: shoppers,
      query: z.object({
        siteId: slug.optional(),
        status: status.optional(),
        customerId: slug.optional(),
        before: z.string().datetime({ offset: true }).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional(),
      }),
      response: z.object({ orders: z.array(orderSummary) }),
      handler: async ({ query, principal }) => {
        const sites = principal.kind === 'gateway' ? [principal.groupId] : principal.sites;
        const orders = await reads.list({
          ...query,
          ...(isShopper(principal) ? { customerId: personOf(principal) as string } : { siteIds: sites }),
        } as Parameters<OrderReadModels['list']>[0]);
        return { orders };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/orders/sales',
      summary: 'Confirmed orders and units per day and site (staff)',
      tag: 'orders',
      access: staff,
      query: z.object({ from: z.string().date().optional(), to: z.string().date().optional() }),
      response: z.object({
        days: z.array(
          z.object({ day: z.string(), siteId: z.string(), orders: z.number(), units: z.number() }),
        ),
      }),
      handler: async ({ query, principal }) => ({
        days: await reads.sales({ ...query, siteIds: principal.kind === 'gateway' ? [] : principal.sites }),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/orders/:id',
      summary: 'One order with its event timeline',
      tag: 'orders',
      access: shoppers,
      params: idParam,
      response: z.object({ order: orderSummary, timeline }),
      errors: { '404': 'no such order (or not yours)' },
      handler: async ({ params, principal }) => {
        const projected = await reads.get(params.id);
        if (projected) {
          assertCanSee(principal, projected);
          return { order: projected, timeline: await reads.timeline(params.id) };
        }
        // Just placed: the read model trails the store by a moment; the stream has it already.
        const current = await service.current(params.id);
        const s = current.state;
        assertCanSee(principal, s);
        const first = current.events[0];
        const last = current.events.at(-1);
        return {
          order: {
            orderId: s.orderId,
            status: s.status,
            siteId: s.siteId,
            customerId: s.customerId,
            lines: s.lines,
            units: s.lines.reduce((n, l) => n + l.quantity, 0),
            rejection: s.rejection ?? null,
            version: current.version,
            placedAt: (first?.recordedAt ?? new Date()).toISOString(),
            updatedAt: (last?.recordedAt ?? new Date()).toISOString(),
          },
          timeline: current.events.map((e) => ({
            version: e.version,
            type: e.type,
            data: e.data as Record<string, unknown>,
            at: e.recordedAt.toISOString(),
          })),
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/orders/:id/cancel',
      summary: 'Cancel an order (a shopper until picking starts; staff until packed)',
      tag: 'orders',
      access: shoppers,
      params: idParam,
      body: z.object({ reason: z.string().max(500).default('') }).strict(),
      response: z.object({ orderId: z.string(), status: z.string() }),
      errors: { '404': 'no such order (or not yours)', '409': 'the order can no longer be cancelled by you' },
      handler: async ({ params, body, principal }) => {
        const { state } = await service.current(params.id);
        assertCanSee(principal, state);
        const role: ActorRole = isShopper(principal) ? 'customer' : 'staff';
        const next = await service.cancel(params.id, actorOf(principal), role, body.reason || 'cancelled');
        return { orderId: params.id, status: next };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/orders/:id/return',
      summary: 'Record that a picked, packed or shipped order came back (payments refunds it)',
      tag: 'orders',
      access: staff,
      params: idParam,
      body: z.object({ reason: z.string().max(500).default('') }).strict(),
      response: z.object({ orderId: z.string(), status: z.string() }),
      errors: { '404': 'no such order', '409': 'the order has not been picked, or was returned already' },
      handler: async ({ params, body, principal }) => {
        const { state } = await service.current(params.id);
        assertCanSee(principal, state);
        const next = await service.apply(params.id, {
          kind: 'return',
          by: actorOf(principal),
          reason: body.reason || 'returned',
          at: new Date().toISOString(),
        });
        return { orderId: params.id, status: next };
      },
    }),
    ...(['pack', 'ship'] as const).map((kind) =>
      route({
        method: 'post',
        path: `/api/v1/orders/:id/${kind}`,
        summary: kind === 'pack' ? 'Mark a picked order packed' : 'Mark a packed order shipped',
        tag: 'orders',
        access: staff,
        params: idParam,
        body: z
          .object({ trackingRef: z.string().max(200).optional() })
          .strict()
          .optional(),
        response: z.object({ orderId: z.string(), status: z.string() }),
        errors: { '404': 'no such order', '409': 'the order is not at that step' },
        handler: async ({ params, body, principal }) => {
          const { state } = await service.current(params.id);
          assertCanSee(principal, state);
          const at = new Date().toISOString();
          const by = actorOf(principal);
          const next = await service.apply(
            params.id,
            kind === 'pack'
              ? { kind, by, at }
              : { kind, by, at, ...(body?.trackingRef ? { trackingRef: body.trackingRef } : {}) },
          );
          return { orderId: params.id, status: next };
        },
      }),
    ),
  ];
}
