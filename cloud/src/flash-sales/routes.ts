import { ForbiddenError, UnavailableError, ValidationError } from '@bitv/shared';
import { z } from 'zod';
import { actorOf, canSeeSite, personOf } from '../api/principal.js';
import { type AnyRoute, idParam, type RouteInput, route } from '../api/route.js';
import { isShopper } from '../orders/routes.js';
import { newSale } from './sale.js';
import type { FlashSaleService } from './service.js';
import type { SaleStreams } from './streams.js';

const buyers = ['partner', 'staff', 'operator', 'admin'] as const;
const staff = ['staff', 'operator', 'admin'] as const;

const sale = z.object({
  id: z.string(),
  sku: z.string(),
  siteId: z.string(),
  title: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  quantity: z.number().int(),
  perCustomerLimit: z.number().int(),
  claimed: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
});
const state = z.object({
  saleId: z.string(),
  title: z.string(),
  sku: z.string(),
  phase: z.enum(['upcoming', 'live', 'sold_out', 'ended']),
  now: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  secondsLeft: z.number().int(),
  quantity: z.number().int(),
  claimed: z.number().int(),
  available: z.number().int(),
  remaining: z.number().int(),
});

export function flashSaleRoutes(service: FlashSaleService, streams: SaleStreams): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/flash-sales',
      summary: 'Create a flash sale of a product at a site: start, end, quantity, per-customer limit (staff)',
      tag: 'flash-sales',
      access: staff,
      body: newSale,
      response: sale,
      status: 201,
      errors: { '404': 'no such product' },
      handler: async ({ body, principal }) => {
        if (!canSeeSite(principal, body.siteId)) throw new ForbiddenError(`no access to site ${body.siteId}`);
        return service.create(body, actorOf(principal));
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/flash-sales',
      summary: 'Flash sales, running and upcoming first, each with its live state',
      tag: 'flash-sales',
      access: 'public',
      response: z.object({ sales: z.array(z.object({ sale, state })) }),
      handler: async () => {
        const sales = await service.store.list(50);
        return {
          sales: await Promise.all(
            sales.map(async (s) => ({ sale: s, state: await service.state(s.id, s) })),
          ),
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/flash-sales/:id',
      summary: 'One flash sale and its state (countdown, remaining quantity)',
      tag: 'flash-sales',
      access: 'public',
      params: idParam,
      response: z.object({ sale, state }),
      errors: { '404': 'no such sale' },
      handler: async ({ params }) => {
        const s = await service.store.get(params.id);
        return { sale: s, state: await service.state(s.id, s) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/flash-sales/:id/stream',
      summary:
        'A flash sale live, as Server-Sent Events (`text/event-stream`, public): `event: state` with the countdown and the remaining quantity (the shelves’ available stock less reservations, capped by the sale) on every tick and whenever stock or claims move',
      tag: 'flash-sales',
      access: 'public',
      params: idParam,
      response: z.string().describe('text/event-stream'),
      errors: { '404': 'no such sale' },
      handler: (async ({ params }: RouteInput<{ id: string }, unknown, unknown>) => {
        if (streams.full) throw new UnavailableError('too many flash-sale stream clients; retry later');
        const first = await service.state(params.id);
        return new Response(streams.open(params.id, first), {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            'x-accel-buffering': 'no',
          },
        });
      }) as unknown as () => Promise<string>,
    }),
    route({
      method: 'post',
      path: '/api/v1/flash-sales/:id/buy',
      summary:
        'Buy from a flash sale: claims the units (sale quantity and per-customer limit, atomically) and places an order through checkout; `Idempotency-Key` makes a retry safe. 409 with reason not_live, sold_out, limit_reached or out_of_stock',
      tag: 'flash-sales',
      access: buyers,
      params: idParam,
      body: z
        .object({
          quantity: z.number().int().positive().max(1_000).default(1),
          /** Staff may buy for a customer; a shopper buys for themselves. */
          customerId: z.string().min(1).max(128).optional(),
        })
        .strict(),
      response: z.object({
        claimId: z.string(),
        orderId: z.string(),
        status: z.string(),
        replayed: z.boolean(),
      }),
      status: 201,
      errors: { '404': 'no such sale', '409': 'not running, sold out, over the limit, or out of stock' },
      handler: async ({ params, body, principal, c }) => {
        const key = c.req.header('idempotency-key');
        if (key !== undefined && (key.length === 0 || key.length > 200)) {
          throw new ValidationError('Idempotency-Key must be 1 to 200 characters');
        }
        const me = personOf(principal) as string;
        const customerId = isShopper(principal) ? me : (body.customerId ?? me);
        return service.buy({
          saleId: params.id,
          customerId,
          quantity: body.quantity,
          by: actorOf(principal),
          ...(key ? { idempotencyKey: key } : {}),
        });
      },
    }),
  ];
}
