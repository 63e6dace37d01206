/**
 * Chat fan-out: 10,000 concurrent WebSocket clients on one cloud instance; the memory each
 * connection costs the server, the fan-out latency (a message sent -> each member has it) at a
 * stated message rate and the burst delivery rate, against a bare `ws` room server (chat-peer.ts)
 * with the same clients, rooms and load in the same run.
 *
 * Two shapes, each run against both servers:
 * - rooms of `ROOM_SIZE` (the goal's measurement): the clients in site rooms of 100 staff each
 *   (100 rooms), one member of every room writing `RATE` messages/s into it;
 * - one room of every client (the worst case): one message is written to 10,000 sockets.
 * Each member is its own staff user, invited to its site through the users service (the way an
 * admin adds staff) with the access token login would hand out; the chat's site rooms need nothing
 * else (a site room is open to the staff whose token lists the site). The clients live in `PROCS`
 * child processes (chat-clients.ts) and beat presence every `BEAT_MS` like the chat page. After
 * `SECONDS` at the stated rate, every sender pipelines `BURST` messages: the delivery rate.
 *
 * Mode: the cloud in-process on the embedded stack as `npm start` runs it (PGlite in a data folder
 * on disk, the in-process cache), only the chat module. Bounded: fixed counts, every wait has a
 * time limit.
 *
 *   node --expose-gc --import tsx cloud/bench/chat-fanout.ts
 *   (env CLIENTS 10000, ROOM_SIZE 100, PROCS 2, RATE 1 message/s per room, SECONDS 20, BURST 40,
 *    BEAT_MS 10000, ONE_ROOM 1: 0 leaves the one-room shape out, CHAT_DB pglite,postgres: the chat's
 *    databases in the rooms shape, the first of them also in the one-room shape; the chat's own
 *    BV_CHAT_* settings apply, e.g. BV_CHAT_WRITE_INTERVAL_MS; BENCH_CPU_PROF=<folder> writes a
 *    CPU profile of the server's process over each burst there)
 *
 * The clients need ~10,000 descriptors in the children and as many in this process: the script raises
 * nothing itself (Node cannot); run it where `ulimit -n` is >= 12,000 (it is 20,000 here).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, machineLine, pidsNamed, table, writeBenchSection } from '@bitv/shared/bench';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { chatDefaults, chatSettingsOf } from '../src/chat/settings.js';
import { startCloud } from '../src/index.js';
import type { Command, Member, Sent, Setup } from './chat-clients.js';
import { startPeer } from './chat-peer.js';

const clients = Number(process.env.CLIENTS ?? 10_000);
const roomSize = Number(process.env.ROOM_SIZE ?? 100);
const procs = Number(process.env.PROCS ?? 2);
/** Messages per second into each room. */
const rate = Number(process.env.RATE ?? 1);
const seconds = Number(process.env.SECONDS ?? 20);
const burst = Number(process.env.BURST ?? 40);
const beatMs = Number(process.env.BEAT_MS ?? 10_000);
const oneRoom = process.env.ONE_ROOM !== '0';
type DatabaseKind = 'pglite' | 'postgres';
/** The chat's databases in the rooms shape (the one-room shape runs on the first only). */
const databases = (process.env.CHAT_DB ?? 'pglite,postgres').split(',') as DatabaseKind[];
const databaseName: Record<DatabaseKind, string> = { pglite: 'PGlite', postgres: 'PostgreSQL' };
/** The chat's settings from `BV_CHAT_*` (e.g. `BV_CHAT_WRITE_INTERVAL_MS`), under the bench's own. */
const chatSettings = chatSettingsOf(process.env);
const writeIntervalMs = chatSettings.writeIntervalMs ?? chatDefaults.writeIntervalMs;
const childFile = fileURLToPath(new URL('./chat-clients.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settle = () => sleep(2_000);

interface Shape {
  name: string;
  roomSize: number;
  rooms: number;
}

/** One server's run of one shape. */
interface Run {
  connectsPerS: number;
  steady: Stats;
  /** The server's event-loop delay at the stated rate (ms). */
  loopDelayMs: { p99: number; max: number };
  burst: Stats;
  burstMs: number;
  perConnBytes: number;
  /** Mean time the server spent writing one message to its room's sockets (at the stated rate). */
  fanoutMs: number;
  /** Cores kept busy at the stated rate by the server's process, the clients' and PostgreSQL's. */
  steadyCores: { server: number; clients: number; database: number };
  /** CPU seconds spent during the burst by the server's process, the clients' and PostgreSQL's. */
  burstCpu: { server: number; clients: number; database: number };
  /** Messages the servers refused or did not acknowledge, and error frames: all should be 0. */
  unacked: number;
  errors: number;
}

interface Stats {
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  lastAt: number;
}

/* --------------------------- the client processes --------------------------- */

class ClientProcess {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private readonly child: ChildProcess;

  constructor(setup: Setup) {
    this.child = spawn(process.execPath, ['--import', 'tsx', childFile], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(l);
      else this.lines.push(l);
    });
    this.child.stdin?.write(`${JSON.stringify(setup)}\n`);
  }

  async ask<T>(command: Command | undefined, timeoutMs: number): Promise<T> {
    if (command) this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    const queued = this.lines.shift();
    if (queued !== undefined) return JSON.parse(queued) as T;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('clients did not answer')), timeoutMs);
      this.waiting = (l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as T);
      };
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  async exit(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.stdin?.write(`${JSON.stringify({ cmd: 'exit' } satisfies Command)}\n`);
    await exited;
  }
}

/** The members spread over `procs` processes, whole rooms together where the sizes allow. */
class Clients {
  private constructor(private readonly parts: ClientProcess[]) {}

  static start(url: string, members: Member[]): Clients {
    const per = Math.ceil(members.length / procs);
    const parts: ClientProcess[] = [];
    for (let from = 0; from < members.length; from += per)
      parts.push(new ClientProcess({ url, beatMs, members: members.slice(from, from + per) }));
    return new Clients(parts);
  }

  /** Waits until every process has its members connected and joined; returns their counts. */
  async ready(): Promise<{ ready: number; joined: number }> {
    const counts = await Promise.all(
      this.parts.map((p) => p.ask<{ ready: number; joined: number }>(undefined, 1_500_000)),
    );
    return {
      ready: counts.reduce((s, c) => s + c.ready, 0),
      joined: counts.reduce((s, c) => s + c.joined, 0),
    };
  }

  async send(command: Command): Promise<Sent> {
    const parts = await Promise.all(this.parts.map((p) => p.ask<Sent>(command, 300_000)));
    return {
      sent: parts.reduce((s, p) => s + p.sent, 0),
      acked: parts.reduce((s, p) => s + p.acked, 0),
      errors: parts.reduce((s, p) => s + p.errors, 0),
    };
  }

  async report(): Promise<Stats> {
    const parts = await Promise.all(
      this.parts.map(async (p) => {
        const { raw, lastAt } = await p.ask<{ raw: string; lastAt: number }>({ cmd: 'report' }, 60_000);
        const bytes = Buffer.from(raw, 'base64');
        return { latencies: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8), lastAt };
      }),
    );
    const all = new Float64Array(parts.reduce((s, p) => s + p.latencies.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p.latencies, at);
      at += p.latencies.length;
    }
    all.sort();
    const q = (x: number) => all[Math.min(all.length - 1, Math.floor(x * all.length))] ?? Number.NaN;
    return {
      delivered: all.length,
      p50: q(0.5),
      p99: q(0.99),
      max: all.at(-1) ?? Number.NaN,
      lastAt: Math.max(...parts.map((p) => p.lastAt)),
    };
  }

  get pids(): number[] {
    return this.parts.map((p) => p.pid);
  }

  async exit(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.exit()));
  }
}

/* ------------------------------- one run ------------------------------- */

/** JS heap plus buffers held outside it, after a GC (RSS moves with the allocator, not the sockets). */
async function memory(): Promise<number> {
  // Twice with a pause: finalizers of the first pass (sockets, PGlite buffers) free more on the second.
  for (let i = 0; i < 2; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(500);
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const roomOf = (shape: Shape, i: number) => Math.floor(i / shape.roomSize);

/**
 * Connects the members, measures the memory they cost, drives the stated rate and then the
 * burst; `fanoutMs` is read after the steady part (the burst's would mix in queueing).
 */
async function measure(
  url: string,
  members: Member[],
  shape: Shape,
  fanoutMs: () => Promise<number>,
): Promise<Run> {
  await settle();
  const before = await memory();
  const connectStart = now();
  const readers = Clients.start(url, members);
  const ready = await readers.ready();
  const connectsPerS = ready.joined / ((now() - connectStart) / 1000);
  process.stdout.write(`${shape.name} ${url}: ${JSON.stringify(ready)}\n`);
  await settle();
  const perConnBytes = ((await memory()) - before) / members.length;
  // Every process's CPU at the stated rate and over the burst: whether the two cores were the
  // limit, and whose time it was.
  const database = await pidsNamed('postgres');
  const cpu = async () => ({
    server: await cpuSeconds([process.pid]),
    clients: await cpuSeconds(readers.pids),
    // Per backend: one that ended meanwhile (the pool closing an idle one) would count negative.
    database: await Promise.all(database.map((pid) => cpuSeconds([pid]))),
  });
  // The server's event loop at the stated rate: how long a ready frame or result could wait.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const steadyFrom = { at: now(), cpu: await cpu() };
  await readers.send({
    cmd: 'drive',
    startAt: now() + 1_000,
    rate,
    seconds,
    rooms: shape.rooms,
  });
  const steadyTo = { at: now(), cpu: await cpu() };
  await settle();
  loopDelay.disable();
  const steady = await readers.report();
  const fanout = await fanoutMs();
  // Sampled every 100 ms, so the burst's share ends at its last delivery, not after the settle.
  const samples: { at: number; cpu: Awaited<ReturnType<typeof cpu>> }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ at: now(), cpu: await cpu() });
      await sleep(100);
    }
  })();
  const profile = await startProfile();
  const cpuBefore = await cpu();
  const burstStart = now();
  const burstSent = await readers.send({ cmd: 'burst', n: burst });
  await settle();
  sampling = false;
  await sampler;
  await profile?.stop(`${shape.name} ${url}`);
  const burstStats = await readers.report();
  const cpuAfter = (samples.find((x) => x.at >= burstStats.lastAt) ?? samples.at(-1))?.cpu ?? (await cpu());
  await readers.exit();
  return {
    connectsPerS,
    steady,
    loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    burst: burstStats,
    burstMs: burstStats.lastAt - burstStart,
    perConnBytes,
    fanoutMs: fanout,
    steadyCores: {
      server: (steadyTo.cpu.server - steadyFrom.cpu.server) / ((steadyTo.at - steadyFrom.at) / 1000),
      clients: (steadyTo.cpu.clients - steadyFrom.cpu.clients) / ((steadyTo.at - steadyFrom.at) / 1000),
      database:
        grown(steadyFrom.cpu.database, steadyTo.cpu.database) / ((steadyTo.at - steadyFrom.at) / 1000),
    },
    burstCpu: {
      server: cpuAfter.server - cpuBefore.server,
      clients: cpuAfter.clients - cpuBefore.clients,
      database: grown(cpuBefore.database, cpuAfter.database),
    },
    // The processes count from their start: the burst's answer covers the steady part too.
    unacked: burstSent.sent - burstSent.acked,
    errors: burstSent.errors,
  };
}

/**
 * With `BENCH_CPU_PROF=<folder>`, a CPU profile of this process (the server) over the burst, for
 * gateway/bench/profile-summary.ts; the setup's profile would drown it.
 */
async function startProfile(): Promise<{ stop(label: string): Promise<void> } | undefined> {
  const folder = process.env.BENCH_CPU_PROF;
  if (!folder) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(label) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      session.disconnect();
      const file = join(folder, `chat-burst-${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      process.stdout.write(`CPU profile of the burst: ${file}\n`);
    },
  };
}

/** CPU seconds the processes spent between two samples, leaving out those gone by the second. */
const grown = (before: number[], after: number[]) =>
  after.reduce((sum, a, i) => sum + (a > 0 ? Math.max(0, a - (before[i] ?? 0)) : 0), 0);

/** Mean of a histogram's observations so far, in ms (the chat module's `bv_chat_fanout_seconds`). */
async function histogramMeanMs(registry: ReturnType<typeof createRegistry>, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return Number.NaN;
  // A histogram's values carry the series name (`_sum`, `_count`, `_bucket`) beside the value.
  const values = (await metric.get()).values as { metricName?: string; value: number }[];
  const sum = values.find((v) => v.metricName === `${name}_sum`)?.value ?? Number.NaN;
  const count = values.find((v) => v.metricName === `${name}_count`)?.value ?? Number.NaN;
  return (sum / count) * 1000;
}

async function runChat(shape: Shape, kind: DatabaseKind): Promise<Run> {
  // PGlite on disk, as a deployment keeps its chat (`npm start` does): PGlite's in-memory file
  // system copies a whole file each time it grows one (~0.5 s at a time here, every delivery held).
  // PostgreSQL in a schema of its own, the pool at its production default.
  const dataDir = await mkdtemp(join(tmpdir(), 'bv-chat-bench-'));
  const schema = uniqueName('bench_chat');
  const database =
    kind === 'pglite' ? await openDatabase({ dataDir }) : await openDatabase({ url: postgresUrl(), schema });
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    {
      port: 0,
      grpcPort: -1,
      modules: ['chat'],
      // The senders' bursts are faster than a person types; a join gets the latest event only.
      chat: { ...chatSettings, historyLimit: 1, ratePerSecond: 10_000, rateBurst: 10_000 },
    },
    { database, eventLog, logger: silentLogger, registry },
  );
  const { users, tokens } = cloud.services;
  const members: Member[] = [];
  for (let i = 0; i < clients; i += 200) {
    const batch = Array.from({ length: Math.min(200, clients - i) }, async (_, k) => {
      const n = i + k;
      const site = `bench-${roomOf(shape, n)}`;
      const { user } = await users.invite({
        email: `staff-${n}@bench.local`,
        name: `staff ${n}`,
        role: 'staff',
        sites: [site],
      });
      const token = (await tokens.accessToken(user)).token;
      return { room: `site:${site}`, roomIndex: roomOf(shape, n), sender: n % shape.roomSize === 0, token };
    });
    members.push(...(await Promise.all(batch)));
  }
  const run = await measure(`${cloud.url.replace('http', 'ws')}/api/v1/chat`, members, shape, () =>
    histogramMeanMs(registry, 'bv_chat_fanout_seconds'),
  );
  await cloud.close();
  await eventLog.close();
  if (kind === 'postgres') await dropSchema(database, schema);
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
  return run;
}

async function runPeer(shape: Shape): Promise<Run> {
  const peer = await startPeer();
  const members = Array.from({ length: clients }, (_, n) => ({
    room: `site:bench-${roomOf(shape, n)}`,
    roomIndex: roomOf(shape, n),
    sender: n % shape.roomSize === 0,
  }));
  const run = await measure(peer.url, members, shape, async () => peer.fanoutMs());
  await peer.close();
  return run;
}

/* ------------------------------- the report ------------------------------- */

const f = (x: number) => x.toFixed(1);
const thousands = (x: number) => Math.round(x).toLocaleString('en');
const rateOf = (r: Run) => r.burst.delivered / (r.burstMs / 1000);
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
/** The burst's CPU by process, and how many of the cores it kept busy over its wall time. */
const burstCpuCell = (r: Run) => {
  const { server, clients, database } = r.burstCpu;
  const total = server + clients + database;
  return `${f(server)} / ${f(clients)} / ${f(database)} (${(total / (r.burstMs / 1000)).toFixed(2)})`;
};

/** What bounds the one-room latency, from the run's own figures. */
function oneRoomFloor(peer: Run, chat: Run): string {
  const perSocketUs = (peer.fanoutMs * 1000) / clients;
  const bound =
    peer.fanoutMs > 50
      ? 'more than the 50 ms goal before any client has read anything: the last sockets of every fan-out wait for the writes to all the others, whatever the server'
      : 'within the 50 ms goal';
  return `In the one room, the bare \`ws\` server spent ${f(peer.fanoutMs)} ms writing one message to its ${thousands(clients)} sockets (${f(perSocketUs)} us a socket write), chat ${f(chat.fanoutMs)} ms: ${bound}.`;
}

function verdict(shape: Shape, kind: DatabaseKind, chat: Run, peer: Run): string {
  const ratio = rateOf(chat) / rateOf(peer);
  return `**${shape.name}, chat on ${databaseName[kind]}**: chat's burst delivery rate is **${ratio.toFixed(2)}x** the bare \`ws\` server's (goal >= 0.5x: ${met(ratio >= 0.5)}); chat's fan-out p99 at ${rate} message(s)/s per room is **${f(chat.steady.p99)} ms** (goal <= 50 ms: ${met(chat.steady.p99 <= 50)}; ${(chat.steady.p99 / 50).toFixed(2)}x the goal), the bare server's ${f(peer.steady.p99)} ms (chat ${(chat.steady.p99 / peer.steady.p99).toFixed(2)}x). Memory per connection: chat ${f(chat.perConnBytes / 1024)} KiB, bare \`ws\` ${f(peer.perConnBytes / 1024)} KiB (${(chat.perConnBytes / peer.perConnBytes).toFixed(1)}x).`;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const loadBefore = load();
  const shapes: Shape[] = [{ name: `rooms of ${roomSize}`, roomSize, rooms: Math.ceil(clients / roomSize) }];
  if (oneRoom && roomSize < clients) shapes.push({ name: 'one room', roomSize: clients, rooms: 1 });
  if (databases.includes('postgres') && !(await serverAvailable('postgres')))
    throw new Error(`PostgreSQL is needed at ${postgresUrl()} (or CHAT_DB=pglite)`);
  const results: { shape: Shape; chats: { kind: DatabaseKind; run: Run }[]; peer: Run }[] = [];
  for (const shape of shapes) {
    const kinds = shape.rooms === 1 ? databases.slice(0, 1) : databases;
    const chats: { kind: DatabaseKind; run: Run }[] = [];
    for (const kind of kinds) chats.push({ kind, run: await runChat(shape, kind) });
    const peer = await runPeer(shape);
    results.push({ shape, chats, peer });
  }
  const expected = rate * seconds * clients;
  const row = (shape: Shape, name: string, r: Run) => [
    shape.name,
    name,
    Math.round(r.connectsPerS),
    `${r.steady.delivered} / ${expected}`,
    f(r.steady.p50),
    f(r.steady.p99),
    f(r.steady.max),
    f(r.fanoutMs),
    `${f(r.loopDelayMs.p99)} / ${f(r.loopDelayMs.max)}`,
    `${r.steadyCores.server.toFixed(2)} / ${r.steadyCores.clients.toFixed(2)} / ${r.steadyCores.database.toFixed(2)}`,
    r.burst.delivered,
    thousands(rateOf(r)),
    burstCpuCell(r),
    f(r.perConnBytes / 1024),
    `${r.unacked} / ${r.errors}`,
  ];
  const worst = results.find((r) => r.shape.rooms === 1);
  const first = results[0] as (typeof results)[number];
  const markdown = `## Chat fan-out (cloud/bench/chat-fanout.ts)

${machineLine()}, load average at the start ${loadBefore}, at the end ${load()} (2 cores shared with other work).

${thousands(clients)} WebSocket clients on one instance (chat module on the embedded default, PGlite in a data folder on disk, and on PostgreSQL, the production database, on this machine; in-process cache), each its own staff user, spread over ${procs} child processes, beating presence every ${beatMs / 1000} s like the chat page. **Rooms of ${roomSize}** (the goal's shape): ${first.shape.rooms} site rooms of ${roomSize} staff each; one member of every room sends **${rate} message(s)/s into it for ${seconds} s** (${thousands(rate * first.shape.rooms)} messages/s into the server, ${thousands(rate * clients)} deliveries/s), then every room's sender pipelines ${burst} messages (the burst). **One room** (the worst case): every client in one room, one sender at the same ${rate} message(s)/s (${thousands(rate * clients)} deliveries/s), ${burst} pipelined. Latency = a message's send time to each member (the sender included) having it, p99 over every delivery (the client reads the send time from the frame's bytes). "Server write" = the mean time the server spent writing one message to its room's sockets. The peer is a bare \`ws\` room server (a Map room -> sockets; no auth, storage, sequence or presence; one Buffer per message) with the same clients, rooms and load, in the same run.

${table(
  [
    'shape',
    'server',
    'connects+joins/s',
    'deliveries at the stated rate / expected',
    'p50 ms',
    'p99 ms',
    'max ms',
    'server write of one message, mean ms',
    'server event-loop delay p99 / max ms',
    'cores busy at that rate: server / clients / PostgreSQL',
    'burst deliveries',
    'burst deliveries/s',
    'burst CPU s: server / clients / PostgreSQL (cores busy)',
    'server memory per connection (KiB)',
    'unacked / error frames',
  ],
  results.flatMap(({ shape, chats, peer }) => [
    ...chats.map(({ kind, run }) =>
      row(shape, `chat (/api/v1/chat), ${databaseName[kind]}, write interval ${writeIntervalMs} ms`, run),
    ),
    row(shape, 'bare ws rooms', peer),
  ]),
)}

${results.flatMap(({ shape, chats, peer }) => chats.map(({ kind, run }) => verdict(shape, kind, run, peer))).join('\n\n')}

Memory per connection is the server process's growth of JS heap plus external memory (after a GC, with \`--expose-gc\`) divided by the clients; for chat it includes the user's verified-token cache entry, the peer's cursor map, the rate bucket, the ping timer and the presence entry.${worst ? `\n\n${oneRoomFloor(worst.peer, (worst.chats[0] as (typeof worst.chats)[number]).run)}` : ''}`;
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('chat-fanout', markdown);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
