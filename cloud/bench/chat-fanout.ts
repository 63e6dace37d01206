/**
 * Chat fan-out: 10,000 concurrent WebSocket clients in one room on one cloud instance; the memory
 * each connection costs the server, and the fan-out latency (a message sent -> each client has it)
 * at a stated message rate, against a bare `ws` broadcast server with the same clients and load
 * in the same run (the floor: no auth, no database, no sequence, no rooms).
 *
 * Mode: the cloud in-process on its embedded defaults (PGlite, the in-process cache), only the
 * chat module. The clients live in a child process (its own file descriptors and event loop), all
 * in `site:bench`; one sender writes at `RATE` messages/s for `SECONDS`, each message carrying its
 * send time; then a burst of `BURST` messages as fast as the server acknowledges them (chat) or
 * takes them (ws) gives the delivery rate. Bounded: fixed counts, every wait has a time limit.
 *
 *   node --expose-gc --import tsx cloud/bench/chat-fanout.ts   (CLIENTS, RATE, SECONDS, BURST env)
 *
 * The clients need ~10,000 descriptors in the child and as many in this process: the script raises
 * nothing itself (Node cannot); run it where `ulimit -n` is >= 12,000 (it is 20,000 here).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { WebSocket, WebSocketServer } from 'ws';
import { startCloud } from '../src/index.js';

const clients = Number(process.env.CLIENTS ?? 10_000);
const rate = Number(process.env.RATE ?? 5);
const seconds = Number(process.env.SECONDS ?? 20);
const burst = Number(process.env.BURST ?? 40);
const room = 'site:bench';
const now = () => performance.timeOrigin + performance.now();

interface Stats {
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  lastAt: number;
}

/* ----------------------------- the clients' process ----------------------------- */

async function clientProcess(url: string, n: number, token: string | undefined): Promise<void> {
  const latencies: number[] = [];
  let lastAt = 0;
  let connected = 0;
  let joined = 0;
  const sockets: WebSocket[] = [];
  const onMessage = (data: WebSocket.RawData) => {
    const text = data.toString();
    if (!text.startsWith('{"type":"event"')) {
      if (text.startsWith('{"type":"history"')) joined += 1;
      return;
    }
    const m = /"body":"t(\d+(?:\.\d+)?)"/.exec(text);
    if (!m) return;
    const t = now();
    latencies.push(t - Number(m[1]));
    lastAt = t;
  };
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
        handshakeTimeout: 60_000,
      });
      ws.on('message', onMessage);
      ws.once('open', () => {
        connected += 1;
        if (token) ws.send(JSON.stringify({ type: 'join', room }));
        sockets.push(ws);
        resolve();
      });
      ws.once('error', reject);
    });
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, open));
  const end = Date.now() + 120_000;
  while (token && joined < n && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  process.stdout.write(`${JSON.stringify({ ready: connected, joined })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'report') {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      const stats: Stats = {
        delivered: sorted.length,
        p50: at(0.5),
        p99: at(0.99),
        max: sorted.at(-1) ?? Number.NaN,
        lastAt,
      };
      process.stdout.write(`${JSON.stringify(stats)}\n`);
      latencies.length = 0;
    }
    if (line === 'exit') {
      for (const s of sockets) s.terminate();
      process.exit(0);
    }
  }
}

/* ------------------------------- the bench itself ------------------------------- */

class Clients {
  private lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(l);
      } else this.lines.push(l);
    });
  }
  static start(url: string, n: number, token: string | undefined): Clients {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--clients', url, String(n), token ?? '-'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    return new Clients(child);
  }
  line(timeoutMs: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('clients did not answer')), timeoutMs);
      this.waiting = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
  }
  async report(): Promise<Stats> {
    this.child.stdin?.write('report\n');
    return JSON.parse(await this.line(60_000)) as Stats;
  }
  async exit(): Promise<void> {
    this.child.stdin?.write('exit\n');
    await once(this.child, 'exit');
  }
}

const settle = () => new Promise((r) => setTimeout(r, 2_000));

/** Sends at `rate`/s for `seconds`, then a burst of `burst` back to back; returns the burst's window. */
async function drive(send: (body: string) => Promise<void>): Promise<{ burstStart: number }> {
  const total = rate * seconds;
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await send(`t${now()}`);
  }
  await settle();
  return { burstStart: now() };
}

/** JS heap plus buffers held outside it, after a GC (RSS moves with the allocator, not the sockets). */
async function memory(): Promise<number> {
  // Twice with a pause: finalizers of the first pass (sockets, PGlite buffers) free more on the second.
  for (let i = 0; i < 2; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 500));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function runChat(): Promise<{ steady: Stats; burst: Stats; burstMs: number; perConnBytes: number }> {
  const database = await openDatabase();
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    {
      port: 0,
      grpcPort: -1,
      modules: ['chat'],
      // The sender writes faster than a person; the readers only join.
      chat: { historyLimit: 1, ratePerSecond: 10_000, rateBurst: 10_000, presenceCoalesceMs: 1_000 },
    },
    { database, eventLog, logger: silentLogger, registry },
  );
  const user = await cloud.services.users.create({
    email: 'bench@chat.local',
    name: 'bench',
    role: 'staff',
    password: 'password-123',
    sites: ['bench'],
  });
  const token = (await cloud.services.tokens.accessToken(user)).token;
  const url = `${cloud.url.replace('http', 'ws')}/api/v1/chat`;
  await settle();
  const before = await memory();
  const readers = Clients.start(url, clients, token);
  process.stdout.write(`chat clients: ${await readers.line(1_500_000)}\n`);
  await settle();
  const perConnBytes = ((await memory()) - before) / clients;
  const sender = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  await once(sender, 'open');
  const acks = new Map<string, () => void>();
  sender.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string; clientId?: string };
    if (m.type === 'ack' && m.clientId) acks.get(m.clientId)?.();
  });
  let n = 0;
  const send = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const clientId = `b${n++}`;
      const timer = setTimeout(() => reject(new Error('no ack in 120 s')), 120_000);
      acks.set(clientId, () => {
        clearTimeout(timer);
        acks.delete(clientId);
        resolve();
      });
      sender.send(JSON.stringify({ type: 'send', room, clientId, body }));
    });
  await drive(send);
  const steady = await readers.report();
  const burstStart = now();
  // The burst: every message sent before the first ack (pipelined), as a chatty room would.
  await Promise.all(Array.from({ length: burst }, () => send(`t${now()}`)));
  await settle();
  const burstStats = await readers.report();
  sender.terminate();
  await readers.exit();
  await cloud.close();
  await eventLog.close();
  await database.close();
  return { steady, burst: burstStats, burstMs: burstStats.lastAt - burstStart, perConnBytes };
}

async function runPeer(): Promise<{ steady: Stats; burst: Stats; burstMs: number; perConnBytes: number }> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  let senderSocket: WebSocket | undefined;
  wss.on('connection', (ws, req) => {
    if (req.url === '/sender') {
      senderSocket = ws;
      ws.on('message', (data) => {
        const text = `{"type":"event","room":"${room}","event":${data.toString()}}`;
        for (const c of wss.clients) if (c !== ws) c.send(text);
        ws.send('ack');
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await settle();
  const before = await memory();
  const readers = Clients.start(`${url}/`, clients, undefined);
  process.stdout.write(`ws clients: ${await readers.line(1_500_000)}\n`);
  await settle();
  const perConnBytes = ((await memory()) - before) / clients;
  const sender = new WebSocket(`${url}/sender`);
  await once(sender, 'open');
  const waiters: (() => void)[] = [];
  sender.on('message', () => waiters.shift()?.());
  const send = (body: string) =>
    new Promise<void>((resolve) => {
      waiters.push(resolve);
      sender.send(JSON.stringify({ body }));
    });
  await drive(send);
  const steady = await readers.report();
  const burstStart = now();
  await Promise.all(Array.from({ length: burst }, () => send(`t${now()}`)));
  await settle();
  const burstStats = await readers.report();
  sender.terminate();
  senderSocket?.terminate();
  await readers.exit();
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.close();
  return { steady, burst: burstStats, burstMs: burstStats.lastAt - burstStart, perConnBytes };
}

async function main(): Promise<void> {
  const chat = await runChat();
  const peer = await runPeer();
  const f = (x: number) => x.toFixed(1);
  const rateOf = (r: { burst: Stats; burstMs: number }) => r.burst.delivered / (r.burstMs / 1000);
  const ratio = rateOf(chat) / rateOf(peer);
  const row = (name: string, r: typeof chat) => [
    name,
    r.steady.delivered,
    f(r.steady.p50),
    f(r.steady.p99),
    f(r.steady.max),
    r.burst.delivered,
    Math.round(rateOf(r)),
    f(r.perConnBytes / 1024),
  ];
  const markdown = `## Chat fan-out (cloud/bench/chat-fanout.ts)

${machineLine()}, load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (2 cores shared with other work).

${clients.toLocaleString('en')} WebSocket clients in one room on one instance (chat module, PGlite, in-process cache), clients in a child process; one sender at **${rate} messages/s for ${seconds} s** (${(rate * clients).toLocaleString('en')} deliveries/s), then a burst of ${burst} messages pipelined. Latency = a message's send time to each client having it (fan-out p99 over every delivery). The peer is a bare \`ws\` broadcast server (no auth, storage or sequence) with the same clients and load, in the same run.

${table(
  [
    'server',
    'deliveries at the stated rate',
    'p50 ms',
    'p99 ms',
    'max ms',
    'burst deliveries',
    'burst deliveries/s',
    'server memory per connection (KiB)',
  ],
  [row('chat (/api/v1/chat)', chat), row('bare ws broadcast', peer)],
)}

Chat's burst delivery rate is **${ratio.toFixed(2)}x** the bare \`ws\` server's (goal >= 0.5x); its p99 at ${rate} messages/s is ${f(chat.steady.p99)} ms (goal <= 50 ms). Each chat message is a PGlite transaction (the room's sequence row, the event, the outbox row) before it fans out; the fan-out itself serialises one JSON text per event and sends it to every socket that has not seen that sequence. Memory per connection is the server process's growth of JS heap plus external memory (after a GC, with \`--expose-gc\`) divided by the clients (it includes the \`ws\` socket, the peer's cursor map and the presence entry).`;
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('chat-fanout', markdown);
}

if (process.argv[2] === '--clients') {
  const [, , , url, n, token] = process.argv;
  await clientProcess(url as string, Number(n), token === '-' ? undefined : token);
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
