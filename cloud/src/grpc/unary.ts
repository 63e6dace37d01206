import { BitvError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import * as grpc from '@grpc/grpc-js';
import type { Principal } from '../api/principal.js';

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

/** The platform's error codes as gRPC statuses; anything unexpected is INTERNAL without details. */
export function toStatus(error: unknown): Partial<grpc.ServiceError> {
  if (error instanceof BitvError)
    return { code: statusByCode[error.code] ?? grpc.status.INTERNAL, details: error.message };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

export interface UnaryOptions {
  /** Resolves the `authorization: Bearer <token or API key>` metadata (the REST API's own check). */
  authenticate(credential: string): Promise<Principal>;
  /** User roles that may call the service; gateways never may. */
  roles: ReadonlySet<string>;
  service: string;
  logger: Logger;
}

/**
 * Wraps a promise handler as a grpc-js unary handler: the caller is authenticated from its
 * metadata and its role checked first, and errors become statuses (unexpected ones are logged).
 */
export function unaryHandler(options: UnaryOptions) {
  return <Req, Res>(fn: (request: Req, principal: Principal) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const header = String(call.metadata.get('authorization')[0] ?? '');
      const credential = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      (async () => {
        if (!credential) throw new BitvError('unauthenticated', 'missing authorization metadata');
        const principal = await options.authenticate(credential);
        if (principal.kind === 'gateway' || !options.roles.has(principal.role))
          throw new BitvError('forbidden', `role may not call ${options.service}`);
        return fn(call.request, principal);
      })().then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (!(error instanceof BitvError)) options.logger.error({ err: error }, 'gRPC call failed');
          callback(toStatus(error));
        },
      );
    };
}
