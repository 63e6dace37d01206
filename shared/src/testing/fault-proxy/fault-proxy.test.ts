import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './proxy.js';
import { parseToxicFlag } from './toxics.js';

/** A local echo server that also records the chunks it received (to see slicing). */
async function echoServer(): Promise<{ server: Server; port: number; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      socket.write(data);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, chunks };
}

interface Client {
  socket: Socket;
  received(): Buffer;
  /** Resolves with the error code (or 'closed') when the connection ends. */
  ended: Promise<string>;
  /** Resolves once at least `n` bytes came back. */
  bytes(n: number): Promise<void>;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port });
  const parts: Buffer[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
  socket.on('data', (data: Buffer) => {
    parts.push(data);
    if (waiter && Buffer.concat(parts).length >= waiter.n) waiter.resolve();
  });
  await once(socket, 'connect');
  return {
    socket,
    received: () => Buffer.concat(parts),
    ended,
    bytes: (n) =>
      Buffer.concat(parts).length >= n
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiter = { n, resolve };
          }),
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault proxy (Toxiproxy toxics) against a local echo server', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: FaultProxy;
  const sockets: Socket[] = [];
  const open = async () => {
    const c = await client(proxy.port);
    sockets.push(c.socket);
    return c;
  };

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await FaultProxy.start({ upstream: `127.0.0.1:${echo.port}`, name: 'echo' });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await proxy.close();
    echo.server.close();
  });

  it('passes bytes both ways untouched and counts them', async () => {
    const c = await open();
    c.socket.write('hello');
    await c.bytes(5);
    expect(c.received().toString()).toBe('hello');
    expect(proxy.stats()).toMatchObject({
      connectionsTotal: 1,
      connectionsActive: 1,
      bytesUpstream: 5,
      bytesDownstream: 5,
    });
  });

  it('latency delays each chunk by at least latency - jitter', async () => {
    proxy.addToxic({ type: 'latency', attributes: { latency: 300, jitter: 50 } });
    const c = await open();
    const started = Date.now();
    c.socket.write('ping');
    await c.bytes(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(245);
  });

  it('timeout 0 is a black hole until removed, for connections already open', async () => {
    const c = await open();
    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    c.socket.write('lost');
    await pause(300);
    expect(c.received().length).toBe(0);
    proxy.removeToxic('timeout_upstream');
    c.socket.write('found');
    await c.bytes(5);
    expect(c.received().toString()).toBe('found');
  });

  it('timeout N drops the data and closes the connection after N ms', async () => {
    proxy.addToxic({ type: 'timeout', attributes: { timeout: 200 } });
    const c = await open();
    c.socket.write('x');
    expect(await c.ended).toBe('closed');
    expect(c.received().length).toBe(0);
  });

  it('reset_peer resets the connection (ECONNRESET at the client)', async () => {
    proxy.addToxic({ type: 'reset_peer', attributes: { timeout: 100 } });
    const c = await open();
    expect(await c.ended).toBe('ECONNRESET');
    expect(proxy.stats().resets).toBe(1);
  });

  it('toxicity 0 never applies the toxic', async () => {
    proxy.addToxic({ type: 'reset_peer', toxicity: 0, attributes: { timeout: 0 } });
    const c = await open();
    c.socket.write('alive');
    await c.bytes(5);
    expect(c.received().toString()).toBe('alive');
  });

  it('bandwidth holds 40 KB at 100 KB/s for at least ~0.4 s', async () => {
    proxy.addToxic({ type: 'bandwidth', attributes: { rate: 100 } });
    const c = await open();
    const started = Date.now();
    c.socket.write(Buffer.alloc(40_000, 1));
    await c.bytes(40_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('slicer cuts a write into small pieces that arrive apart', async () => {
    proxy.addToxic({
      type: 'slicer',
      stream: 'upstream',
      attributes: { average_size: 10, size_variation: 0, delay: 20_000 },
    });
    const c = await open();
    c.socket.write(Buffer.alloc(50, 2));
    await c.bytes(50);
    expect(echo.chunks.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...echo.chunks.map((b) => b.length))).toBeLessThanOrEqual(20);
  });

  it('limit_data lets N bytes through, then closes', async () => {
    proxy.addToxic({ type: 'limit_data', attributes: { bytes: 10 } });
    const c = await open();
    c.socket.write(Buffer.alloc(30, 3));
    expect(await c.ended).toBe('closed');
    expect(c.received().length).toBe(10);
  });

  it('slow_close holds the close for delay ms', async () => {
    proxy.addToxic({ type: 'slow_close', attributes: { delay: 300 } });
    const c = await open();
    const started = Date.now();
    c.socket.end();
    await once(c.socket, 'end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('disable resets open connections and refuses new ones; enable takes them again on the same port', async () => {
    const c = await open();
    const port = proxy.port;
    await proxy.disable();
    expect(await c.ended).toBe('ECONNRESET');
    await expect(client(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.enable();
    expect(proxy.port).toBe(port);
    const again = await open();
    again.socket.write('back');
    await again.bytes(4);
    expect(again.received().toString()).toBe('back');
  });

  it('an upstream that is down resets the client and is counted', async () => {
    const closed = await echoServer();
    closed.server.close();
    const dead = await FaultProxy.start({ upstream: `127.0.0.1:${closed.port}` });
    try {
      const c = await client(dead.port);
      expect(await c.ended).toBe('ECONNRESET');
      expect(dead.stats().upstreamFailures).toBe(1);
    } finally {
      await dead.close();
    }
  });

  it('refuses bad toxics with a clear error', () => {
    expect(() => proxy.addToxic({ type: 'latency', attributes: { latency: -1 } })).toThrow();
    expect(() => proxy.addToxic(JSON.parse('{"type":"meteor","attributes":{}}'))).toThrow();
    proxy.addToxic({ type: 'latency', attributes: { latency: 1 } });
    expect(() => proxy.addToxic({ type: 'latency', attributes: { latency: 1 } })).toThrow(/already exists/);
    expect(() => proxy.removeToxic('nope')).toThrow(/no toxic/);
  });

  it('parses the CLI toxic form', () => {
    expect(parseToxicFlag('latency:upstream:0.5=latency=200,jitter=10')).toEqual({
      type: 'latency',
      stream: 'upstream',
      toxicity: 0.5,
      attributes: { latency: 200, jitter: 10 },
    });
    expect(parseToxicFlag('timeout=timeout=0')).toMatchObject({
      type: 'timeout',
      stream: 'downstream',
      toxicity: 1,
    });
    expect(() => parseToxicFlag('latency=latency=abc')).toThrow(/name=number/);
  });
});
