import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** Gives a new client connection to the broker. */
export type ConnectionHandler = (stream: Duplex, request?: IncomingMessage) => void;

export interface Listener {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

/** Plain MQTT over TCP. */
export function listenTcp(host: string, port: number, handle: ConnectionHandler): Promise<Listener> {
  const server = createTcpServer((socket) => {
    // PUBACKs are small and latency-bound; Nagle would hold them back
    socket.setNoDelay(true);
    handle(socket);
  });
  return listen(server, host, port, 'mqtt');
}

/** MQTT over TLS (`mqtts://`), with the given key and certificate chain. */
export function listenTls(
  host: string,
  port: number,
  tls: TlsFiles,
  handle: ConnectionHandler,
): Promise<Listener> {
  const server = createTlsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (socket) => {
    socket.setNoDelay(true);
    handle(socket);
  });
  return listen(server, host, port, 'mqtts');
}

/**
 * MQTT over WebSocket on path `/mqtt` (browsers), over TLS (`wss://`) when files are given. Each
 * WebSocket message carries MQTT bytes; `maxPayload` refuses frames above the packet limit.
 */
export async function listenWebSocket(
  host: string,
  port: number,
  maxPayload: number,
  tls: TlsFiles | undefined,
  handle: ConnectionHandler,
): Promise<Listener> {
  const http: HttpServer = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' })
    : createHttpServer();
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('MQTT over WebSocket: connect to /mqtt with subprotocol "mqtt"\n');
  });
  const wss = new WebSocketServer({
    server: http,
    path: '/mqtt',
    maxPayload,
    // [MQTT-6.0.0-3] the subprotocol is "mqtt" (MQTT 3.1 clients may offer "mqttv3.1")
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    // a WebSocket that errors (bad frame, too large) ends the MQTT connection, not the process
    stream.on('error', () => stream.destroy());
    handle(stream, req);
  });
  const listener = await listen(http, host, port, tls ? 'wss' : 'ws', '/mqtt');
  return {
    ...listener,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await listener.close();
    },
  };
}

async function listen(
  server: Server,
  host: string,
  port: number,
  scheme: string,
  path = '',
): Promise<Listener> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${scheme}://${h}:${actual}${path}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
