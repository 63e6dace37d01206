import { loadOrderService, type OrderMessage, type OrderServiceHandlers } from '@bitv/proto';
import { ForbiddenError, ValidationError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { actorOf, canSeeSite, type Principal, personOf } from '../api/principal.js';
import { unaryHandler } from '../grpc/unary.js';
import type { GrpcServiceSpec } from '../module.js';
import type { OrderState } from './model.js';
import { assertCanSee, isShopper, placeOrderBody } from './routes.js';
import type { OrderService } from './service.js';

const callers = new Set(['partner', 'staff', 'operator', 'admin']);

function message(s: Exclude<OrderState, { status: 'none' }>): OrderMessage {
  return {
    order_id: s.orderId,
    site_id: s.siteId,
    customer_id: s.customerId,
    status: s.status,
    lines: s.lines.map((l) => ({ line_id: l.lineId, sku: l.sku, quantity: l.quantity })),
  };
}

/** `bitv.orders.v1.OrderService`: the REST API's operations and rules (routes.ts) over gRPC. */
export function ordersGrpcService(deps: {
  service: OrderService;
  authenticate(credential: string): Promise<Principal>;
  logger: Logger;
}): GrpcServiceSpec {
  const { service } = loadOrderService();
  const unary = unaryHandler({
    authenticate: deps.authenticate,
    roles: callers,
    service: 'OrderService',
    logger: deps.logger,
  });
  const handlers: OrderServiceHandlers = {
    PlaceOrder: unary(async (req, principal) => {
      const parsed = placeOrderBody.safeParse({
        siteId: req.site_id,
        ...(req.customer_id ? { customerId: req.customer_id } : {}),
        lines: (req.lines ?? []).map((l) => ({ sku: l.sku, quantity: l.quantity })),
      });
      if (!parsed.success) throw new ValidationError(`invalid order: ${parsed.error.issues[0]?.message}`);
      const body = parsed.data;
      if (!isShopper(principal) && !canSeeSite(principal, body.siteId)) {
        throw new ForbiddenError(`no access to site ${body.siteId}`);
      }
      const person = personOf(principal) ?? actorOf(principal);
      const outcome = await deps.service.place({
        siteId: body.siteId,
        customerId: isShopper(principal) ? person : (body.customerId ?? person),
        lines: body.lines,
        by: actorOf(principal),
        caller: actorOf(principal),
        ...(req.idempotency_key ? { idempotencyKey: req.idempotency_key } : {}),
      });
      const o = outcome.body;
      return {
        order_id: o.orderId,
        site_id: o.siteId,
        customer_id: o.customerId,
        status: o.status,
        lines: o.lines.map((l) => ({ line_id: l.lineId, sku: l.sku, quantity: l.quantity })),
      };
    }),
    GetOrder: unary(async (req, principal) => {
      const current = await deps.service.current(req.order_id);
      assertCanSee(principal, current.state);
      return {
        order: message(current.state),
        timeline: current.events.map((e) => ({
          version: e.version,
          type: e.type,
          data_json: JSON.stringify(e.data),
          at: e.recordedAt.toISOString(),
        })),
        rejection_code: current.state.rejection?.code ?? '',
        rejection_reason: current.state.rejection?.reason ?? '',
      };
    }),
    CancelOrder: unary(async (req, principal) => {
      const current = await deps.service.current(req.order_id);
      assertCanSee(principal, current.state);
      await deps.service.cancel(
        req.order_id,
        actorOf(principal),
        isShopper(principal) ? 'customer' : 'staff',
        req.reason || 'cancelled',
      );
      return message((await deps.service.current(req.order_id)).state);
    }),
  };
  return { definition: service, implementation: handlers as unknown as UntypedServiceImplementation };
}
