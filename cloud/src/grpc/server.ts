import * as grpc from '@grpc/grpc-js';
import type { GrpcServiceSpec } from '../module.js';

/**
 * The cloud's gRPC server with the mounted modules' services (e.g. the inventory module's
 * `bitv.inventory.v1.InventoryService`). Each service authenticates its calls itself
 * (`unaryHandler`), the way the REST API does.
 */
export async function startGrpcServer(
  services: readonly GrpcServiceSpec[],
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = new grpc.Server();
  for (const s of services) server.addService(s.definition, s.implementation);
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
