/**
 * Server-Sent Events at scale and the home-feed read, each against a limit in the same run.
 *
 * 1. Fan-out: SUBSCRIBERS (default 10,000) home-feed streams, all following one author (below the
 *    fan-out threshold, so each post is copied into every follower's feed and delivered live).
 *    The author writes POSTS posts through the REST API; the latency of each delivery is the time
 *    from the POST to the event reaching a client (clients in a child process, wall clocks
 *    compared on one machine). Limit: a bare node:http SSE broadcaster with the same clients,
 *    writing the same events to every response (no database, no authentication, no feed).
 *    Memory per subscriber: the server process's JS heap and RSS growth while connected.
 *    Connects: CONNECTING at a time from the client process; the connect rate is reported too.
 * 2. Home-feed read: READERS readers following 10 of 100 authors each, POSTS_FEED posts fanned
 *    out; GET /api/v1/feed/home (authentication, the page query with the reader's merge flag,
 *    JSON) against the page query alone, straight on the database. Goal: p99 <= 20 ms. A fifth
 *    of the readers also follow a "celebrity" above the fan-out threshold whose posts are merged
 *    on read: their reads (merge check, and the merge itself on the first read after a post) are
 *    reported on their own row, the goal is for the others.
 *
 * PARTS=fanout,home (default both) runs a part alone.
 * Embedded default (PGlite). Run: `npm run bench -w cloud` or `node --expose-gc --import tsx bench/sse.ts`.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import { Tokens } from '../src/auth/tokens.js';
import { startCloud } from '../src/index.js';

const subscribers = Number(process.env.SUBSCRIBERS ?? 10_000);
const posts = Number(process.env.POSTS ?? 10);
const postGapMs = 500;
const readers = Number(process.env.READERS ?? 1_000);
const feedPosts = Number(process.env.POSTS_FEED ?? 1_500);
const reads = Number(process.env.READS ?? 2_000);
const readGoalMs = 20;
const connecting = Number(process.env.CONNECTING ?? 100);
const parts = new Set((process.env.PARTS ?? 'fanout,home').split(','));

const now = () => performance.timeOrigin + performance.now();

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// ---------------------------------------------------------------- client child process

type ToChild =
  | { kind: 'connect'; url: string; tokens: string[] | null; count: number }
  | { kind: 'report'; expected: number }
  | { kind: 'reads'; url: string; tokens: string[] }
  | { kind: 'close' };
type FromChild =
  | { kind: 'connected'; ok: number; failed: number; seconds: number }
  | { kind: 'report'; received: number; p50: number; p99: number; max: number }
  | { kind: 'reads'; latencies: number[] };

async function clientMain(): Promise<void> {
  const latencies: number[] = [];
  const sockets: { destroy(): void }[] = [];
  let received = 0;
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', async (m: ToChild) => {
    if (m.kind === 'connect') {
      let ok = 0;
      let failed = 0;
      let next = 0;
      const started = performance.now();
      // A bounded ramp (CONNECTING at a time), not 10,000 SYNs at once.
      await Promise.all(
        Array.from({ length: connecting }, async () => {
          for (;;) {
            const i = next++;
            if (i >= m.count) return;
            const headers: Record<string, string> = { accept: 'text/event-stream' };
            if (m.tokens) headers.authorization = `Bearer ${m.tokens[i]}`;
            const good = await new Promise<boolean>((resolve) => {
              const req = request(m.url, { headers, agent: false }, (res) => {
                if (res.statusCode !== 200) {
                  res.resume();
                  return resolve(false);
                }
                res.setEncoding('utf8');
                let buffer = '';
                res.on('data', (chunk: string) => {
                  buffer += chunk;
                  for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
                    const block = buffer.slice(0, end);
                    buffer = buffer.slice(end + 2);
                    const sent = /bench (\d+(?:\.\d+)?)/.exec(block);
                    if (sent) {
                      latencies.push(now() - Number(sent[1]));
                      received += 1;
                    }
                  }
                });
                res.on('error', () => undefined);
                resolve(true);
              });
              req.on('error', () => resolve(false));
              req.setTimeout(120_000);
              sockets.push(req);
              req.end();
            });
            if (good) ok += 1;
            else failed += 1;
            if ((ok + failed) % 2_000 === 0) {
              const seconds = (performance.now() - started) / 1000;
              console.log(`  ${ok + failed} connects in ${seconds.toFixed(0)} s (${failed} failed)`);
            }
          }
        }),
      );
      send({ kind: 'connected', ok, failed, seconds: (performance.now() - started) / 1000 });
    } else if (m.kind === 'reads') {
      // One at a time, each with a token in the order given (keep-alive, like a browser).
      const took: number[] = [];
      for (const token of m.tokens) {
        const t0 = performance.now();
        const res = await fetch(m.url, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`home read failed: ${res.status}`);
        await res.json();
        took.push(performance.now() - t0);
      }
      send({ kind: 'reads', latencies: took });
    } else if (m.kind === 'report') {
      const deadline = Date.now() + 120_000;
      while (received < m.expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const sorted = latencies.sort((a, b) => a - b);
      send({
        kind: 'report',
        received,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? Number.NaN,
      });
      latencies.length = 0;
      received = 0;
    } else {
      for (const s of sockets) s.destroy();
      process.exit(0);
    }
  });
}

class Clients {
  private readonly child: ChildProcess;
  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--clients'], { execArgv: ['--import', 'tsx'] });
  }
  private ask<T extends FromChild['kind']>(m: ToChild, kind: T): Promise<Extract<FromChild, { kind: T }>> {
    return new Promise((resolve) => {
      const on = (r: FromChild) => {
        if (r.kind !== kind) return;
        this.child.off('message', on);
        resolve(r as Extract<FromChild, { kind: T }>);
      };
      this.child.on('message', on);
      this.child.send(m);
    });
  }
  connect(url: string, tokens: string[] | null, count: number) {
    return this.ask({ kind: 'connect', url, tokens, count }, 'connected');
  }
  reads(url: string, tokens: string[]) {
    return this.ask({ kind: 'reads', url, tokens }, 'reads');
  }
  report(expected: number) {
    return this.ask({ kind: 'report', expected }, 'report');
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ kind: 'close' });
    });
  }
}

// ---------------------------------------------------------------- server side

interface Memory {
  heap: number;
  rss: number;
}
function memory(): Memory {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  // The JS heap only: PGlite's WebAssembly memory (external) grows and shrinks with its own caching.
  return { heap: m.heapUsed, rss: m.rss };
}

interface FanOut {
  connected: number;
  connectsPerSecond: number;
  received: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  heapPerSub: number;
  rssPerSub: number;
}

async function waitUntil(probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** The limit: a bare node:http SSE broadcaster. */
async function bareFanOut(): Promise<FanOut> {
  const responses = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    responses.add(res);
    req.on('close', () => responses.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const clients = new Clients();
  const before = memory();
  const { ok, seconds } = await clients.connect(url, null, subscribers);
  await waitUntil(() => responses.size >= ok, 30_000);
  const after = memory();
  for (let i = 0; i < posts; i += 1) {
    const chunk = `id: ${i + 1}\nevent: post\ndata: ${JSON.stringify({ body: `bench ${now()}` })}\n\n`;
    for (const res of responses) res.write(chunk);
    await new Promise((r) => setTimeout(r, postGapMs));
  }
  const report = await clients.report(ok * posts);
  await clients.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return {
    connected: ok,
    connectsPerSecond: ok / seconds,
    expected: ok * posts,
    ...report,
    heapPerSub: (after.heap - before.heap) / Math.max(ok, 1),
    rssPerSub: (after.rss - before.rss) / Math.max(ok, 1),
  };
}

async function startBenchCloud(fanoutThreshold = 1_000_000) {
  const database = await openDatabase();
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    // Above the subscriber count: every post is fanned out on write.
    { port: 0, grpcPort: -1, modules: ['feed'], feed: { fanoutThreshold } },
    { database, eventLog, logger: silentLogger, registry },
  );
  const tokens = new Tokens(cloud.services.keys, {
    ...cloud.services.tokens.settings,
    accessTtlSeconds: 3_600,
  });
  const tokenOf = async (id: string) =>
    (await tokens.accessToken({ id, role: 'partner', sites: null })).token;
  const clientsGauge = async () => {
    const text = await (await fetch(`${cloud.url}/metrics`)).text();
    return Number(/^bv_feed_sse_clients (\S+)/m.exec(text)?.[1] ?? 0);
  };
  return {
    cloud,
    database,
    tokenOf,
    clientsGauge,
    close: async () => {
      await cloud.close();
      await eventLog.close();
      await database.close();
    },
  };
}

async function post(url: string, token: string, body: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/feed/posts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body }),
  });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${await res.text()}`);
}

async function ourFanOut(): Promise<FanOut> {
  const b = await startBenchCloud();
  await sql`INSERT INTO feed_follows (follower_id, kind, target)
    SELECT 'sub-' || i, 'user', 'author' FROM generate_series(1, ${subscribers}) i`.execute(
    b.database.kysely,
  );
  const tokens: string[] = [];
  for (let i = 1; i <= subscribers; i += 1) tokens.push(await b.tokenOf(`sub-${i}`));
  const author = await b.tokenOf('author');
  const clients = new Clients();
  const before = memory();
  const { ok, seconds } = await clients.connect(`${b.cloud.url}/api/v1/feed/stream`, tokens, subscribers);
  let live = 0;
  const deadline = Date.now() + 30_000;
  while (live < ok && Date.now() < deadline) {
    live = await b.clientsGauge();
    if (live < ok) await new Promise((r) => setTimeout(r, 100));
  }
  const after = memory();
  for (let i = 0; i < posts; i += 1) {
    await post(b.cloud.url, author, `bench ${now()}`);
    await new Promise((r) => setTimeout(r, postGapMs));
  }
  const report = await clients.report(ok * posts);
  await clients.close();
  await b.close();
  return {
    connected: ok,
    connectsPerSecond: ok / seconds,
    expected: ok * posts,
    ...report,
    heapPerSub: (after.heap - before.heap) / Math.max(ok, 1),
    rssPerSub: (after.rss - before.rss) / Math.max(ok, 1),
  };
}

interface Reads {
  count: number;
  p50: number;
  p99: number;
  perSecond: number;
}

function summary(latencies: number[], seconds: number): Reads {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    perSecond: sorted.length / seconds,
  };
}

/** `reads` reads one at a time, each latency filed under its reader's group. */
async function timeReads(
  read: (i: number) => Promise<void>,
  groupOf: (i: number) => string,
): Promise<Map<string, Reads>> {
  const latencies = new Map<string, number[]>([['all', []]]);
  const started = performance.now();
  for (let i = 0; i < reads; i += 1) {
    const t0 = performance.now();
    await read(i);
    const ms = performance.now() - t0;
    latencies.get('all')?.push(ms);
    const group = groupOf(i);
    if (group === 'all') continue;
    if (!latencies.has(group)) latencies.set(group, []);
    latencies.get(group)?.push(ms);
  }
  const seconds = (performance.now() - started) / 1000;
  return new Map([...latencies].map(([k, v]) => [k, summary(v, seconds)]));
}

interface HomeReads {
  apart: Map<string, Reads>;
  ours: Map<string, Reads>;
  bare: Reads;
  items: number;
  threshold: number;
  celebrityFollowers: number;
  celebrityPosts: number;
}

async function homeReads(): Promise<HomeReads> {
  // Authors get readers/10 followers each, the celebrity readers/5: a threshold between them fans
  // out every author's post and merges the celebrity's on read.
  const celebrityFollowers = Math.floor(readers / 5);
  const threshold = Math.floor((readers * 3) / 20);
  const celebrityPosts = Math.max(1, Math.floor(feedPosts / 75));
  const b = await startBenchCloud(threshold);
  const db = b.database.kysely;
  // Reader r follows authors r, r+7, r+14, ... (10 of 100), spread evenly.
  await sql`INSERT INTO feed_follows (follower_id, kind, target)
    SELECT 'reader-' || r, 'user', 'author-' || ((r + k * 7) % 100)
    FROM generate_series(1, ${readers}) r, generate_series(0, 9) k ON CONFLICT DO NOTHING`.execute(db);
  const celebrity = await b.tokenOf('celebrity');
  const celebrityReaders: string[] = [];
  for (let r = 1; r <= celebrityFollowers; r += 1) celebrityReaders.push(await b.tokenOf(`reader-${r}`));
  // Through the API, so the follows keep the readers' merge flags as they would in use.
  for (const token of celebrityReaders) {
    const res = await fetch(`${b.cloud.url}/api/v1/feed/follows/user/celebrity`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`follow failed: ${res.status}`);
  }
  const authors: string[] = [];
  for (let a = 0; a < 100; a += 1) authors.push(await b.tokenOf(`author-${a}`));
  const every = Math.max(1, Math.floor(feedPosts / celebrityPosts));
  for (let i = 0; i < feedPosts; i += 1) {
    await post(b.cloud.url, authors[i % 100] as string, `post ${i} about #nothing in particular`);
    if (i % every === 0) await post(b.cloud.url, celebrity, `celebrity post ${i}`);
  }
  const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM feed_items`.execute(db);
  const tokens: string[] = [];
  for (let r = 1; r <= readers; r += 1) tokens.push(await b.tokenOf(`reader-${r}`));
  const pick = (i: number) => (i * 7919) % readers;
  const groupOf = (i: number) => (pick(i) < celebrityFollowers ? 'celebrity' : 'fanned');
  // First from a client process of its own (as a real client is), then from inside the server's
  // process (its fetch competes with the server for the one event loop).
  const clients = new Clients();
  const started = performance.now();
  const order = Array.from({ length: reads }, (_, i) => i);
  const { latencies } = await clients.reads(
    `${b.cloud.url}/api/v1/feed/home?limit=20`,
    order.map((i) => tokens[pick(i)] as string),
  );
  const seconds = (performance.now() - started) / 1000;
  await clients.close();
  const apart = new Map<string, Reads>(
    ['all', 'fanned', 'celebrity'].map((g) => [
      g,
      summary(
        latencies.filter((_, i) => g === 'all' || groupOf(i) === g),
        seconds,
      ),
    ]),
  );
  const ours = await timeReads(async (i) => {
    const res = await fetch(`${b.cloud.url}/api/v1/feed/home?limit=20`, {
      headers: { authorization: `Bearer ${tokens[pick(i)]}` },
    });
    if (res.status !== 200) throw new Error(`home read failed: ${res.status}`);
    await res.json();
  }, groupOf);
  const bare = await timeReads(
    async (i) => {
      await sql`SELECT i.seq, p.id, p.author_id, p.body, p.images, p.mentions, p.like_count, p.comment_count, p.created_at
      FROM feed_items i JOIN feed_posts p ON p.id = i.post_id
      WHERE i.user_id = ${`reader-${pick(i) + 1}`} AND NOT p.hidden ORDER BY i.seq DESC LIMIT 20`.execute(db);
    },
    () => 'all',
  );
  await b.close();
  return {
    apart,
    ours,
    bare: bare.get('all') as Reads,
    items: Number(rows[0]?.n ?? 0),
    threshold,
    celebrityFollowers,
    celebrityPosts,
  };
}

function fanOutSection(bare: FanOut, ours: FanOut): string {
  const ms = (n: number) => n.toFixed(1);
  const kb = (n: number) => (n / 1024).toFixed(1);
  const rows = [bare, ours].map((r, i) => [
    i === 0 ? 'bare node:http broadcaster (limit)' : 'feed module: POST → fan-out on write → SSE',
    r.connected.toLocaleString('en'),
    r.connectsPerSecond.toFixed(0),
    `${r.received.toLocaleString('en')} / ${r.expected.toLocaleString('en')}`,
    `${ms(r.p50)} / ${ms(r.p99)} / ${ms(r.max)}`,
    kb(r.heapPerSub),
    kb(r.rssPerSub),
  ]);
  return [
    `Fan-out: ${subscribers.toLocaleString('en')} home-feed streams (clients in a child process, ${connecting} connecting at a time) following one author; ${posts} posts ${postGapMs} ms apart; latency = POST sent → event read by a client. The limit is a bare node:http SSE broadcaster holding the same ${subscribers.toLocaleString('en')} responses and writing each event to all of them (no database, no authentication). Memory per subscriber: the server process's JS heap and RSS growth while the clients connected, after GC (RSS also moves with PGlite's own memory, so the heap column is the one to compare).`,
    '',
    table(
      [
        'server',
        'subscribers',
        'connects/s',
        'events received / expected',
        'latency p50 / p99 / max ms',
        'JS heap KB/sub',
        'RSS KB/sub',
      ],
      rows,
    ),
    '',
    `Fan-out p99 against the bare broadcaster: ${(ours.p99 / bare.p99).toFixed(1)}x; p50 ${(ours.p50 / bare.p50).toFixed(1)}x (ours includes the one INSERT … SELECT that writes a feed item per follower, the pub/sub hop and the JSON of the post). All ${subscribers.toLocaleString('en')} connected: ${ours.connected === subscribers && bare.connected === subscribers ? 'yes' : 'NO'}.`,
  ].join('\n');
}

function homeSection(home: HomeReads): string {
  const ms = (n: number) => n.toFixed(1);
  const get = (m: Map<string, Reads>, g: string) => m.get(g) as Reads;
  const row = (name: string, r: Reads) => [name, r.count.toLocaleString('en'), ms(r.p50), ms(r.p99)];
  const fanned = get(home.apart, 'fanned');
  const inProcess = get(home.ours, 'fanned');
  const verdict = fanned.p99 <= readGoalMs ? 'met' : 'NOT met';
  return [
    `Home-feed read: ${readers.toLocaleString('en')} readers following 10 of 100 authors, ${feedPosts.toLocaleString('en')} posts fanned out; a fifth of the readers (${home.celebrityFollowers}) also follow a celebrity above the fan-out threshold (${home.threshold}) with ${home.celebrityPosts} posts merged on read (${home.items.toLocaleString('en')} feed items before the reads); ${reads.toLocaleString('en')} reads of the newest 20, one at a time, readers interleaved, first from a client process of its own (the celebrity's followers merge on their first read), then again from inside the server's process; then the page query alone.`,
    '',
    table(
      ['GET /api/v1/feed/home (auth, page query with the merge flag, JSON)', 'reads', 'p50 ms', 'p99 ms'],
      [
        row('client process: readers who follow no one above the threshold (the goal)', fanned),
        row(
          'client process: the celebrity’s followers (merge check; the first read merges)',
          get(home.apart, 'celebrity'),
        ),
        row('client inside the server process: readers who follow no one above the threshold', inProcess),
        row(
          'client inside the server process: the celebrity’s followers (merged already)',
          get(home.ours, 'celebrity'),
        ),
        row('the page query alone on the database, all readers (limit)', home.bare),
      ],
    ),
    '',
    `Goal: home-feed read p99 ≤ ${readGoalMs} ms: ${ms(fanned.p99)} ms from a client process, ${verdict} (${(fanned.p99 / home.bare.p99).toFixed(1)}x the bare query's p99; ${ms(inProcess.p99)} ms with the client inside the server's process).`,
  ].join('\n');
}

const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const loadAtStart = loadNow();
  let fan: string | undefined;
  let home: string | undefined;
  if (parts.has('fanout')) {
    console.log(`fan-out: ${subscribers} subscribers, ${posts} posts, bare node:http broadcaster first`);
    const bare = await bareFanOut();
    console.log('bare', bare);
    const ours = await ourFanOut();
    console.log('ours', ours);
    fan = fanOutSection(bare, ours);
  }
  if (parts.has('home')) {
    console.log(`home-feed reads: ${readers} readers, ${feedPosts} posts, ${reads} reads`);
    const measured = await homeReads();
    console.log('home', measured);
    home = homeSection(measured);
  }
  const markdown = [
    '## Feed: 10,000 SSE subscribers and the home-feed read',
    '',
    `\`npm run bench -w cloud\` (\`cloud/bench/sse.ts\`), embedded default (PGlite).`,
    '',
    fan ?? '',
    '',
    home ?? '',
    '',
    `${machineLine()}, load average at the start ${loadAtStart}, at the end ${loadNow()} (the machine is shared with other work; compare ratios, not absolute figures).`,
  ].join('\n');
  console.log(`\n${markdown}`);
  // A part run alone is a look, not the record.
  if (fan && home) await writeBenchSection('cloud-feed-sse', markdown);
}

if (process.argv.includes('--clients')) await clientMain();
else await main();
