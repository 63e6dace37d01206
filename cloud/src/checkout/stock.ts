/**
 * What checkout needs of stock: the holds of an order's lines, made together (all or nothing) and
 * idempotent on their references (a retried reserve after a crash gets the same holds, never
 * second ones), released at most once in effect. The inventory module's reservations implement it
 * (`InventoryApi`, or `Reservations` directly).
 */
export interface StockHolds {
  /**
   * One hold per request, in request order, in one transaction. ConflictError: too little
   * available; NotFoundError: no such product. Either way nothing is held, and the error's
   * `details.reference` names the request that failed.
   */
  reserveAll(input: {
    holds: readonly { sku: string; quantity: number; reference: string }[];
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<{ id: string; status: string }[]>;
  /** Releasing twice is not an error; a committed hold is released too (the order was cancelled). */
  release(id: string): Promise<unknown>;
  /** The holds of a confirmed order stop lapsing (idempotent). */
  commit(ids: readonly string[]): Promise<unknown>;
}

/** The reservation reference of one order line: the same line always asks for the same hold. */
export function lineReference(orderId: string, lineId: string): string {
  return `order:${orderId}:${lineId}`;
}
