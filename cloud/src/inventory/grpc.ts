import {
  type InventoryServiceHandlers,
  loadInventoryService,
  type Reservation as ReservationMessage,
} from '@bitv/proto';
import { BitvError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Principal } from '../api/principal.js';
import { unaryHandler } from '../grpc/unary.js';
import type { GrpcServiceSpec } from '../module.js';
import type { Inventory } from './inventory.js';
import type { Reservation, Reservations } from './reservations.js';

const toMessage = (r: Reservation): ReservationMessage => ({
  id: r.id,
  sku: r.sku,
  quantity: r.quantity,
  reference: r.reference,
  status: r.status,
  expires_at: r.expiresAt,
});

const internalRoles = new Set(['operator', 'admin', 'partner']);

/**
 * `bitv.inventory.v1.InventoryService` for internal callers. Calls carry `authorization: Bearer
 * <token or API key>` metadata, checked like the REST API (operator, admin or partner).
 */
export function inventoryGrpcService(deps: {
  inventory: Inventory;
  reservations: Reservations;
  authenticate(credential: string): Promise<Principal>;
  logger: Logger;
}): GrpcServiceSpec {
  const { service } = loadInventoryService();
  const unary = unaryHandler({
    authenticate: deps.authenticate,
    roles: internalRoles,
    service: 'InventoryService',
    logger: deps.logger,
  });
  const handlers: InventoryServiceHandlers = {
    GetStock: unary(async (req) => {
      const stock = await deps.inventory.stock(req.sku, req.site_id || undefined);
      return {
        sku: stock.sku,
        on_hand: stock.onHand,
        reserved: stock.reserved,
        available: stock.available,
        bins: stock.bins.map((b) => ({
          site_id: b.siteId,
          shelf_id: b.shelfId,
          bin: b.bin,
          count: b.count,
          confidence: b.confidence,
        })),
      };
    }),
    Reserve: unary(async (req) => {
      if (!req.sku || req.quantity <= 0 || !req.reference) {
        throw new BitvError('validation_failed', 'sku, a positive quantity and reference are required');
      }
      return toMessage(
        await deps.reservations.reserve({
          sku: req.sku,
          quantity: req.quantity,
          reference: req.reference,
          ttlSeconds: req.ttl_seconds || 900,
        }),
      );
    }),
    Release: unary(async (req) => toMessage(await deps.reservations.release(req.reservation_id))),
  };
  return { definition: service, implementation: handlers as unknown as UntypedServiceImplementation };
}
