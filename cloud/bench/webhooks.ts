/**
 * Webhook deliveries per second to a local receiver through RabbitMQ, against raw amqplib
 * publish + consume of the same messages in the same run (goal: at least 0.5x), and the first
 * attempt's latency after the event commits (goal: p99 at most 1 s).
 *
 * Ours: a cloud with the webhooks module on PostgreSQL (PGlite when it is not there; a pool of
 * BENCH_WEBHOOKS_POOL connections, default 10 like `openDatabase`, where the test harness's 4 had
 * every stage waiting for a connection), its event log in the same database, deliveries on RabbitMQ (`AMQP_URL`, default the test server), one
 * endpoint subscribed to `bv.order.*` on a loopback receiver answering 200. A burst of
 * BENCH_WEBHOOKS (default 2,000) order events published to the log; counted until the receiver has
 * had every one: event log -> consumer (a run of events) -> delivery rows -> relay -> RabbitMQ
 * (confirms awaited together) -> consumer -> signed HTTP POST -> attempt logged -> ack. Raw: a ConfirmChannel publishes the same number of
 * messages of the same body to a fresh quorum queue and a consumer (prefetch 64) acks them; a
 * second raw run also POSTs each message to a loopback receiver before its ack, the HTTP exchange
 * (both ends in this process, as ours) that the goal's peer leaves out.
 * Latency: BENCH_WEBHOOKS_PACED (default 200) events at 50/s, from each event's time (set just
 * before its publish commits) to the receiver's first request for it. The database queue runs
 * the same two phases for comparison.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { createEvent, orderPlacedV1, platformEvents, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { amqpUrl, postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import amqp from 'amqplib';
import { sql } from 'kysely';
import type { CloudConfig } from '../src/config.js';
import { startCloud } from '../src/index.js';
import { authed } from '../test/harness.js';
import { startReceiver } from '../test/webhooks-receiver.js';

const burst = Number(process.env.BENCH_WEBHOOKS ?? 2_000);
const paced = Number(process.env.BENCH_WEBHOOKS_PACED ?? 200);
const pacedRate = 50;
const goalRatio = 0.5;
const goalP99Ms = 1_000;
const url = process.env.AMQP_URL ?? amqpUrl();
/** The cloud's PostgreSQL pool: the production default (10), not the test harness's 4. */
const poolSize = Number(process.env.BENCH_WEBHOOKS_POOL ?? 10);
/** Deliveries in flight (the consumer's prefetch) and requests in flight to the one endpoint. */
const concurrency = Number(process.env.BENCH_WEBHOOKS_CONCURRENCY ?? 64);

type Kind = 'pglite' | 'postgres';

/** A cloud like `npm start`'s (its own schema, the database event log polled every 50 ms). */
async function startBenchCloud(kind: Kind, config: Partial<CloudConfig>) {
  const schema = uniqueName('bench_webhooks');
  const database =
    kind === 'pglite' ? await openDatabase() : await openDatabase({ url: postgresUrl(), schema, poolSize });
  const registry = createRegistry();
  const eventLog = await createEventLog({
    database,
    registry: platformEvents(),
    metrics: registry,
    databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
  });
  const cloud = await startCloud(
    { port: 0, grpcPort: -1, ...config },
    { database, eventLog, logger: silentLogger, registry },
  );
  return {
    cloud,
    database,
    eventLog,
    partnerToken: async () => {
      const user = await cloud.services.users.create({
        email: 'partner@bench.local',
        name: 'partner',
        role: 'partner',
        password: 'password-123',
        sites: null,
      });
      return (await cloud.services.tokens.accessToken(user)).token;
    },
    close: async () => {
      await cloud.close();
      await eventLog.close();
      if (kind !== 'pglite') await dropSchema(database, schema);
      await database.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

function orderEvent() {
  const orderId = randomUUID();
  return createEvent(orderPlacedV1, {
    source: '/bench',
    key: orderId,
    data: {
      orderId,
      customerId: 'bench-customer',
      siteId: 'bench-site',
      lines: [{ lineId: 'l1', sku: 'BENCH-SKU', quantity: 1 }],
      placedBy: 'user:bench',
      placedAt: new Date().toISOString(),
    },
  });
}

/** CPU of this process (ms, user + system) per message since `from`. */
const cpuMsPer = (from: NodeJS.CpuUsage, n: number) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000 / n;
};

/**
 * Raw amqplib: publish `n` bodies with confirms and consume them with acks; messages/s and CPU.
 * With `post`, each consumed message is first POSTed to a loopback receiver (keep-alive, 64
 * sockets) and acked after its answer: the least any webhook sender does per message.
 */
async function rawAmqp(
  n: number,
  body: Buffer,
  post?: (body: Buffer) => Promise<void>,
): Promise<{ perSecond: number; cpuMs: number }> {
  const model = await amqp.connect(url, { timeout: 10_000 });
  const queue = `bench.raw.${randomUUID().slice(0, 8)}`;
  try {
    const pub = await model.createConfirmChannel();
    await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const sub = await model.createChannel();
    await sub.prefetch(64);
    let got = 0;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    const settle = (msg: amqp.ConsumeMessage) => {
      sub.ack(msg);
      if (++got === n) resolveDone();
    };
    await sub.consume(queue, (msg) => {
      if (!msg) return;
      if (!post) return settle(msg);
      void post(msg.content).then(() => settle(msg));
    });
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      if (!pub.sendToQueue(queue, body, { persistent: true, messageId: String(i) })) {
        await new Promise((r) => pub.once('drain', r));
      }
    }
    await pub.waitForConfirms();
    await done;
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = cpuMsPer(cpu, n);
    await pub.deleteQueue(queue);
    return { perSecond: n / seconds, cpuMs };
  } finally {
    await model.close();
  }
}

interface Run {
  queue: string;
  perSecond: number;
  /** Deliveries created from events per second (event log consumer side). */
  storedPerSecond: number;
  /** CPU of the bench process per delivery in the burst (the receiver included), ms. */
  cpuMs: number;
  p50: number;
  p99: number;
  max: number;
  bodyBytes: number;
}

async function ours(kind: Kind, amqpUrl: string | undefined, label: string): Promise<Run> {
  const receiver = await startReceiver();
  const t = await startBenchCloud(kind, {
    modules: ['webhooks'],
    webhooks: {
      allowPrivate: true,
      schedule: '0,1s,5s',
      concurrency,
      perEndpointConcurrency: concurrency,
      defaultRatePerSecond: 1_000_000,
      timeoutMs: 10_000,
      queueName: `bench.webhooks.${randomUUID().slice(0, 8)}`,
      ...(amqpUrl ? { amqpUrl } : {}),
    },
  });
  try {
    const partner = await t.partnerToken();
    const res = await fetch(
      `${t.cloud.url}/api/v1/webhooks/endpoints`,
      authed(partner, { url: receiver.url('/hook'), eventTypes: ['bv.order.*'] }),
    );
    if (res.status !== 201) throw new Error(`endpoint not created: ${res.status} ${await res.text()}`);
    const wait = async (count: number, limitMs: number) => {
      const deadline = Date.now() + limitMs;
      while (receiver.received.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${receiver.received.length} of ${count} delivered`);
        await sleep(5);
      }
    };
    // Throughput: a burst, published in batches of 100 as the orders outbox relay would.
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < burst; i += 100) {
      await t.eventLog.publish(
        topics.orders,
        Array.from({ length: Math.min(100, burst - i) }, () => orderEvent()),
      );
    }
    let stored = 0;
    for (let seen = 0; seen < burst; await sleep(20)) {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM webhook_deliveries`.execute(
        t.database.kysely,
      );
      seen = Number(rows[0]?.n ?? 0);
      if (process.env.BENCH_DEBUG)
        process.stderr.write(
          `stored ${seen} received ${receiver.received.length} at ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
      stored = performance.now();
    }
    await wait(burst, 600_000);
    const storedPerSecond = burst / ((stored - started) / 1000);
    const perSecond = burst / ((performance.now() - started) / 1000);
    const cpuMs = cpuMsPer(cpu, burst);
    const bodyBytes = Buffer.byteLength(receiver.received[0]?.body ?? '');
    // Latency: paced events, each timed from its own commit to its first request.
    const before = receiver.received.length;
    for (let i = 0; i < paced; i++) {
      await t.eventLog.publish(topics.orders, orderEvent());
      await sleep(1000 / pacedRate);
    }
    await wait(before + paced, 120_000);
    const latencies = receiver.received
      .slice(before)
      .map((r) => r.at - Date.parse((JSON.parse(r.body) as { timestamp: string }).timestamp))
      .sort((a, b) => a - b);
    return {
      queue: label,
      perSecond,
      storedPerSecond,
      cpuMs,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      bodyBytes,
    };
  } finally {
    await t.close();
    await receiver.close();
  }
}

/** POSTs to a fresh loopback receiver, as the raw peer with HTTP does; closed after the run. */
async function poster() {
  const receiver = await startReceiver();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(receiver.url('/raw'));
  const post = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(target, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        timeout: 10_000,
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('timeout', () => req.destroy(new Error('receiver timed out')));
      req.on('error', reject);
      req.end(body);
    });
  return {
    post,
    close: async () => {
      agent.destroy();
      await receiver.close();
    },
  };
}

async function main(): Promise<void> {
  if (!(await serverAvailable('rabbitmq'))) throw new Error(`RabbitMQ is needed at ${url}`);
  const kind: Kind = (await serverAvailable('postgres')) ? 'postgres' : 'pglite';
  const viaRabbit = await ours(kind, url, 'RabbitMQ');
  const body = Buffer.alloc(viaRabbit.bodyBytes, 'x');
  const raw = await rawAmqp(burst, body);
  const httpPeer = await poster();
  const rawHttp = await rawAmqp(burst, body, httpPeer.post).finally(() => httpPeer.close());
  const viaDatabase = await ours(kind, undefined, `database queue (${kind})`);
  const ratio = viaRabbit.perSecond / raw.perSecond;
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
  const f = (n: number) => n.toFixed(0);
  const f2 = (n: number) => n.toFixed(2);
  const markdown = [
    '## cloud: webhook deliveries through RabbitMQ vs raw amqplib; first-attempt latency',
    '',
    `${machineLine()}. RabbitMQ 3.10 on loopback, ${kind === 'postgres' ? `PostgreSQL 15 (pool of ${poolSize}, the production default)` : 'PGlite'} for the cloud's tables and event log, a Node http receiver on loopback answering 200, all in the bench process. ${burst} order events in a burst (batches of 100 into the event log), then ${paced} paced at ${pacedRate}/s for latency. Raw: amqplib ConfirmChannel publish + consume (prefetch 64, acks) of ${burst} messages of the same ${viaRabbit.bodyBytes}-byte body on a quorum queue. Ours (${concurrency} deliveries in flight, ${concurrency} requests to the endpoint): the event-log consumer takes each partition's run of events (one statement matches them to the subscribed endpoints and inserts the idempotent delivery rows, one offset commit per run), the relay claims the stored rows and publishes them with confirms awaited together (one enqueued mark per batch); per delivery the consume, a Standard Webhooks signature, the HTTP POST (keep-alive per endpoint) through the SSRF-guarded lookup and the endpoint's dependency policy, the attempt logged (reads and logs coalesced across the deliveries in flight, one batch per event-loop turn), the ack. CPU: the bench process's user + system time per message during the burst (receiver included). Run: \`node --import tsx cloud/bench/webhooks.ts\` (BENCH_WEBHOOKS, BENCH_WEBHOOKS_PACED, BENCH_WEBHOOKS_CONCURRENCY, BENCH_WEBHOOKS_POOL, AMQP_URL). Load average of the shared machine: ${load}.`,
    '',
    table(
      ['path', 'messages/s (burst)', 'CPU ms/message', 'first attempt p50 ms', 'p99 ms', 'max ms'],
      [
        ['raw amqplib publish + consume', f(raw.perSecond), f2(raw.cpuMs), '', '', ''],
        ['raw amqplib + an HTTP POST per message', f(rawHttp.perSecond), f2(rawHttp.cpuMs), '', '', ''],
        [
          `webhooks on RabbitMQ`,
          f(viaRabbit.perSecond),
          f2(viaRabbit.cpuMs),
          f(viaRabbit.p50),
          f(viaRabbit.p99),
          f(viaRabbit.max),
        ],
        [
          `webhooks on the ${viaDatabase.queue}`,
          f(viaDatabase.perSecond),
          f2(viaDatabase.cpuMs),
          f(viaDatabase.p50),
          f(viaDatabase.p99),
          f(viaDatabase.max),
        ],
      ],
    ),
    '',
    `Webhooks on RabbitMQ / raw amqplib: **${ratio.toFixed(2)}x** (goal >= ${goalRatio}x: ${ratio >= goalRatio ? 'met' : 'NOT met'}); against raw amqplib with the POST (the HTTP exchange no webhook sender avoids, both ends in this process): ${(viaRabbit.perSecond / rawHttp.perSecond).toFixed(2)}x.`,
    `First attempt p99 after the event commits on RabbitMQ: **${f(viaRabbit.p99)} ms** (goal <= ${goalP99Ms} ms: ${viaRabbit.p99 <= goalP99Ms ? 'met' : 'NOT met'}); it includes the database event log's poll interval (50 ms here).`,
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('cloud-webhooks', markdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`webhooks bench failed: ${String(error)}\n`);
  process.exit(1);
});
