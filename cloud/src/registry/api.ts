import type { Aisle, Gateway, Shelf, Site } from './registry.js';

/** Called in process when shelf controllers come online or go offline (DBIRTH, DDEATH, NDEATH). */
export type ShelfPresenceListener = (shelfIds: readonly string[], online: boolean) => Promise<void>;

/**
 * What the registry offers other modules: the warehouse's places and devices, read-only, and its
 * news of shelves coming and going. Writes stay behind the registry's own routes.
 */
export interface RegistryApi {
  listSites(): Promise<Site[]>;
  /** NotFoundError for an unknown site. */
  getSite(id: string): Promise<Site>;
  listAisles(siteId: string): Promise<Aisle[]>;
  listGateways(siteId?: string): Promise<Gateway[]>;
  getGateway(id: string): Promise<Gateway>;
  listShelves(filter: { siteId?: string; gatewayId?: string }): Promise<Shelf[]>;
  /** NotFoundError for an unknown shelf. A shelf's bins are numbered 0 to `binCount - 1`. */
  getShelf(id: string): Promise<Shelf>;
  /** Whether a device credential (by its `jti`) is still valid: not revoked, not rotated away. */
  isCredentialActive(jti: string): Promise<boolean>;
  /**
   * Listeners run one after another, after the registry's own update commits; a throw fails the
   * device-state event, which the event log redelivers (so a listener must be idempotent).
   */
  onShelfPresence(listener: ShelfPresenceListener): void;
}
