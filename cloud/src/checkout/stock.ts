/**
 * What checkout needs of stock: holds per order line, idempotent on their reference (a retried
 * reserve after a crash gets the same hold, never a second one), released at most once in effect.
 * The inventory module's reservations implement it (`InventoryApi`, or `Reservations` directly).
 */
export interface StockHolds {
  /** ConflictError: too little available; NotFoundError: no such product. */
  reserve(input: {
    sku: string;
    quantity: number;
    reference: string;
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<{ id: string; status: string }>;
  /** Releasing twice is not an error; a committed hold is released too (the order was cancelled). */
  release(id: string): Promise<unknown>;
  /** The holds of a confirmed order stop lapsing (idempotent). */
  commit(ids: readonly string[]): Promise<unknown>;
}

/** The reservation reference of one order line: the same line always asks for the same hold. */
export function lineReference(orderId: string, lineId: string): string {
  return `order:${orderId}:${lineId}`;
}
