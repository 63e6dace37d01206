import type { OrderSummary } from './read-models.js';
import type { PlaceOrderInput, PlaceOutcome } from './service.js';

/**
 * What orders offers other modules: placing an order through the normal path (the order's first
 * event, its checkout saga over inventory's reservations, idempotency keys). Flash sales buy here;
 * chat asks whose an order is.
 */
export interface OrdersApi {
  place(input: PlaceOrderInput): Promise<PlaceOutcome>;
  /** An order's summary from the read model (chat's support rooms check who it belongs to). */
  find(orderId: string): Promise<OrderSummary | undefined>;
}

declare module '../module.js' {
  interface ModuleApis {
    orders: OrdersApi;
  }
}
