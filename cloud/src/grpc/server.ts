import {
  type InventoryServiceHandlers,
  loadInventoryService,
  type Reservation as ReservationMessage,
} from '@bitv/proto';
import { BitvError } from '@bitv/shared';
import * as grpc from '@grpc/grpc-js';
import { principalOf } from '../api/authenticate.js';
import type { Services } from '../api/services.js';
import type { Reservation } from '../inventory/reservations.js';

const statusByCode: Record<string, grpc.status> = {
  validation_failed: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  forbidden: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.FAILED_PRECONDITION,
  capacity_exceeded: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
};

function toStatus(error: unknown): Partial<grpc.ServiceError> {
  if (error instanceof BitvError)
    return { code: statusByCode[error.code] ?? grpc.status.INTERNAL, details: error.message };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

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
export async function startGrpcServer(
  s: Services,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const { service } = loadInventoryService();
  const unary =
    <Req, Res>(fn: (request: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const header = String(call.metadata.get('authorization')[0] ?? '');
      const credential = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      (async () => {
        if (!credential) throw new BitvError('unauthenticated', 'missing authorization metadata');
        const principal = await principalOf(credential, s);
        if (principal.kind === 'gateway' || !internalRoles.has(principal.role))
          throw new BitvError('forbidden', `role may not call InventoryService`);
        return fn(call.request);
      })().then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (!(error instanceof BitvError)) s.logger.error({ err: error }, 'gRPC call failed');
          callback(toStatus(error));
        },
      );
    };
  const handlers: InventoryServiceHandlers = {
    GetStock: unary(async (req) => {
      const stock = await s.inventory.stock(req.sku, req.site_id || undefined);
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
        await s.reservations.reserve({
          sku: req.sku,
          quantity: req.quantity,
          reference: req.reference,
          ttlSeconds: req.ttl_seconds || 900,
        }),
      );
    }),
    Release: unary(async (req) => toMessage(await s.reservations.release(req.reservation_id))),
  };
  const server = new grpc.Server();
  server.addService(service, handlers);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(asListenError(error, host, port)) : resolve(p),
    ),
  );
  return {
    url: `${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * grpc-js reports a port it could not take as "No address added out of total 1 resolved errors:
 * [listen EADDRINUSE ...]"; shaped like Node's own listen error, it gets the same one-line message
 * as every other listener (`cannot listen on host:port: ...`).
 */
function asListenError(error: Error, host: string, port: number): Error {
  const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(error.message)?.[1];
  if (!code) return error;
  return Object.assign(new Error(`gRPC: ${error.message}`, { cause: error }), {
    syscall: 'listen',
    code,
    address: host,
    port,
  });
}
