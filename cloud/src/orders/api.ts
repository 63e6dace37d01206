import type { PlaceOrderInput, PlaceOutcome } from './service.js';

/**
 * What orders offers other modules: placing an order through the normal path (the order's first
 * event, its checkout saga over inventory's reservations, idempotency keys). Flash sales buy here.
 */
export interface OrdersApi {
  place(input: PlaceOrderInput): Promise<PlaceOutcome>;
}

declare module '../module.js' {
  interface ModuleApis {
    orders: OrdersApi;
  }
}
