import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { BitvError, UnauthenticatedError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import { WebSocket, WebSocketServer } from 'ws';
import { accessCookie } from '../api/authenticate.js';
import { type Principal, personOf } from '../api/principal.js';
import type { LiveHub } from './hub.js';

export const livePath = '/api/v1/live';

export interface LiveServerOptions {
  hub: LiveHub;
  /** Resolves a token or API key (same rules as the REST API). */
  resolve: (credential: string) => Promise<Principal>;
  logger: Logger;
  /** A client whose unsent data exceeds this is too slow to follow and is disconnected. */
  maxBufferedBytes?: number;
  pingIntervalMs?: number;
  /** Other WebSocket endpoints on the same server (modules' `upgrades`), dispatched by path. */
  upgrades?: readonly UpgradeHandler[];
}

/** A WebSocket endpoint of a module: the HTTP upgrades to `path` are handed to `handle`. */
export interface UpgradeHandler {
  path: string;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** The credential of an upgrade request: Bearer header, `access_token`, API key header or the dashboard cookie. */
export function credentialOf(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth) return /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  return (
    url.searchParams.get('access_token') ??
    (req.headers['x-api-key'] as string | undefined) ??
    cookieValue(req.headers.cookie, accessCookie)
  );
}

/** Answers a refused upgrade with a JSON error and closes the socket. */
export function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Holds a socket's writes until the end of the current turn of the event loop: corked at its first
 * write of the turn, uncorked with every other in one `setImmediate`. Whatever a socket is sent in
 * one turn (a batch's events, an ack) then goes out in one `writev` instead of one system call per
 * frame, which was most of a fan-out's time (docs/chat.md); nothing waits for a later turn.
 */
export function turnCorker(): (socket: Duplex) => void {
  const corked = new Set<Duplex>();
  const uncorkAll = () => {
    for (const socket of corked) socket.uncork();
    corked.clear();
  };
  return (socket) => {
    if (corked.has(socket)) return;
    if (corked.size === 0) setImmediate(uncorkAll);
    corked.add(socket);
    socket.cork();
  };
}

/**
 * Live stock and device state over WebSocket at `/api/v1/live?site=<id>` (the parameter may
 * repeat; absent = every site the caller may see). Authenticated at the upgrade with a Bearer
 * header, `access_token` query parameter, or the dashboard cookie. Server messages are the
 * `LiveMessage` JSON objects; the first is `{"type":"hello","sites":[...]}`.
 */
export function attachLiveServer(server: Server, options: LiveServerOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const maxBuffered = options.maxBufferedBytes ?? 1 << 20;
  const cork = turnCorker();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const other = options.upgrades?.find((u) => u.path === url.pathname);
    if (other) {
      other.handle(req, socket, head);
      return;
    }
    if (url.pathname !== livePath) {
      refuse(socket, 404, 'not_found', 'no WebSocket endpoint here');
      return;
    }
    const credential = credentialOf(req, url);
    const authorise = async (): Promise<{ sites: string[] | null; customerId?: string }> => {
      if (!credential) throw new UnauthenticatedError('missing credentials');
      const principal = await options.resolve(credential);
      if (principal.kind === 'gateway') throw new UnauthenticatedError('not a user credential');
      // A shopper (partner) follows their own orders, not their sites' (same rule as the orders API).
      const person = principal.role === 'partner' ? personOf(principal) : null;
      const customer = person === null ? {} : { customerId: person };
      const asked = url.searchParams.getAll('site');
      if (asked.length === 0) return { sites: principal.sites, ...customer };
      const denied = asked.filter((s) => principal.sites !== null && !principal.sites.includes(s));
      if (denied.length > 0) throw new BitvError('forbidden', `no access to site ${denied.join(', ')}`);
      return { sites: asked, ...customer };
    };
    authorise().then(
      ({ sites, customerId }) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          const unsubscribe = options.hub.subscribe({
            sites,
            ...(customerId === undefined ? {} : { customerId }),
            send: (_message, text) => {
              if (ws.readyState !== WebSocket.OPEN) return;
              if (ws.bufferedAmount > maxBuffered) {
                options.logger.warn({ buffered: ws.bufferedAmount }, 'live client too slow, disconnected');
                ws.terminate();
                return;
              }
              cork(socket);
              ws.send(text);
            },
          });
          let alive = true;
          ws.on('pong', () => {
            alive = true;
          });
          const ping = setInterval(() => {
            if (!alive) ws.terminate();
            alive = false;
            ws.ping();
          }, options.pingIntervalMs ?? 30_000);
          ping.unref();
          ws.on('close', () => {
            clearInterval(ping);
            unsubscribe();
          });
          // A client error (bad frame) closes that client only.
          ws.on('error', (error) => options.logger.debug({ err: error }, 'live client error'));
          ws.send(JSON.stringify({ type: 'hello', sites }));
        }),
      (error: unknown) => {
        const forbidden = error instanceof BitvError && error.code === 'forbidden';
        refuse(
          socket,
          forbidden ? 403 : 401,
          forbidden ? 'forbidden' : 'unauthenticated',
          error instanceof Error ? error.message : 'refused',
        );
      },
    );
  };
  server.on('upgrade', onUpgrade);
  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
