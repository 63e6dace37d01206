import type { Alert, BinView, Product, Stock } from './inventory.js';
import type { HoldRequest, OwnerScope, Reservation } from './reservations.js';
import type { StockListener } from './stock-feed.js';

/**
 * What inventory offers other modules: stock reads, reservations, and count changes as they
 * commit. Reservations lapse at `expiresAt` (the inventory module's expiry timer).
 * A confirmed order's holds are committed: the expiry sweep skips them, and they stay held until
 * the order is cancelled (released) or picked (consumed).
 */
export interface InventoryApi {
  getProduct(sku: string): Promise<Product>;
  /** On hand (shelf weight), reserved and available, overall or at one site. NotFoundError: no product. */
  stock(sku: string, siteId?: string): Promise<Stock>;
  /** One bin as the warehouse page shows it (SKU, count, confidence, light). */
  bin(shelfId: string, bin: number): Promise<BinView>;
  binsOfSite(siteId: string): Promise<BinView[]>;
  alerts(siteId: string, status?: 'open' | 'cleared' | 'all'): Promise<Alert[]>;
  /**
   * Holds units of a SKU (idempotent on `reference`); ConflictError when fewer are available or
   * the reference holds something else.
   */
  reserve(input: {
    sku: string;
    quantity: number;
    reference: string;
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<Reservation>;
  /**
   * Holds units for every request in one transaction, all or nothing (idempotent per reference);
   * ConflictError or NotFoundError names the failing request in `details.reference`.
   */
  reserveAll(input: {
    holds: readonly HoldRequest[];
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<Reservation[]>;
  /** Releasing twice is not an error. */
  release(id: string, owner?: OwnerScope): Promise<Reservation>;
  /** A confirmed order's holds stop lapsing (idempotent); returns those it moved. */
  commit(ids: readonly string[]): Promise<Reservation[]>;
  /** A picked order's holds are no longer held (idempotent); returns those it moved. */
  consume(ids: readonly string[]): Promise<Reservation[]>;
  getReservation(id: string, owner?: OwnerScope): Promise<Reservation>;
  listReservations(filter: {
    owner?: OwnerScope;
    status?: Reservation['status'];
    limit?: number;
  }): Promise<Reservation[]>;
  /** Count changes right after they commit (see `StockFeed`); returns the unsubscribe function. */
  onStockChange(listener: StockListener): () => void;
}
