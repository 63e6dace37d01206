import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuSeconds, machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { deviceTopic, encodeReadings } from '@bitv/shared/sparkplug';
import { freePort, redisUrl, serverAvailable, tempDir, uniqueName } from '@bitv/shared/testing';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { ClientSpec } from './load.js';
import type { Stage } from './stages.js';

/**
 * Gateway benchmark: the same load generator against Mosquitto (started here on its own port,
 * with a password file and an ACL, so it authenticates and authorises too) and against our
 * gateway (JWT authentication, ACL, every acknowledged message durable in Kafka), in one run.
 *
 *   1. QoS 1 publish throughput, one reading per message: Mosquitto, aedes with no hooks, the gateway
 *      into a discarding log, gateway x1, its Kafka peer (aedes + a bare kafkajs producer), gateway x2
 *   2. readings per second into Kafka, 100 readings per message (batching)
 *   3. memory per idle connection with 10,000 connections
 *
 * Kafka is a private single node started for the run (never the shared one). Bounded: each
 * measurement lasts seconds; the whole run a few minutes.
 *
 * Environment (all optional): BENCH_PUBLISHERS (20), BENCH_WINDOW (50 in flight per publisher),
 * BENCH_DURATION_MS (6000 per measurement), BENCH_IDLE_CONNECTIONS (10000);
 * BENCH_ONLY=broker runs only the rows without Kafka (Mosquitto, aedes alone, the discarding
 * gateway) and prints their two goals, writing nothing to docs/benchmarks.md: for iterating on
 * the broker path; BENCH_ONLY=stages runs the bisection from aedes alone to the discarding gateway
 * (bench/stages.ts), BENCH_ROUNDS (3) rounds of BENCH_STEPS (e.g. `1,5,6`; all seven when unset),
 * and prints each step's CPU per message; BENCH_CPU_PROF=<folder> runs the gateway nodes with `node --cpu-prof` writing
 * their profiles there (unset: no profiling), summarised by `bench/profile-summary.ts`.
 */
/** The bundles `npm run build` makes (the bench script builds first): what production runs. */
const bundles = fileURLToPath(new URL('../dist/bench/', import.meta.url));
const kafkaScript = fileURLToPath(new URL('../../infra/kafka/kafka.sh', import.meta.url));
const run = promisify(execFile);
const issuer = 'bitvelocity-bench';
const site = 'bench';

const settings = {
  publishers: Number(process.env.BENCH_PUBLISHERS ?? 20),
  window: Number(process.env.BENCH_WINDOW ?? 50),
  durationMs: Number(process.env.BENCH_DURATION_MS ?? 6_000),
  warmupMs: 1_500,
  readingsPerMessage: 100,
  idleConnections: Number(process.env.BENCH_IDLE_CONNECTIONS ?? 10_000),
  brokerOnly: process.env.BENCH_ONLY === 'broker' || process.env.BENCH_ONLY === 'stages',
  stages: process.env.BENCH_ONLY === 'stages',
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  /** Which steps of the bisection to run (their numbers, from 1), all when unset. */
  steps: process.env.BENCH_STEPS?.split(',').map(Number),
  cpuProfileDir: process.env.BENCH_CPU_PROF,
  /** More flags for the broker processes, e.g. `--trace-gc`. */
  nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
};

const children: ChildProcess[] = [];
const dir = await tempDir('bv-gw-bench-');
const kafkaEnv = {
  ...process.env,
  BV_KAFKA_DIR: join(dir.path, 'kafka'),
  KAFKA_HEAP_OPTS: '-Xms256m -Xmx768m',
};

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  await run('bash', [kafkaScript, 'stop'], { env: kafkaEnv, timeout: 60_000 }).catch(() => undefined);
  await dir.remove();
}

async function main() {
  console.log(`settings: ${JSON.stringify(settings)}`);
  const kafkaPort = await freePort();
  if (!settings.brokerOnly) {
    await run('bash', [kafkaScript, 'start', '--port', String(kafkaPort)], {
      env: kafkaEnv,
      timeout: 150_000,
    });
    console.log(`private Kafka on 127.0.0.1:${kafkaPort}`);
  }
  const brokers = [`127.0.0.1:${kafkaPort}`];

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }] };
  const token = (edge: string) =>
    new SignJWT({ kind: 'gateway', group: site, jti: `jti-${edge}` })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
      .setSubject(edge)
      .setIssuer(issuer)
      .setAudience('bitv-gateway')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);

  const mosquitto = await startMosquitto();
  console.log(`mosquitto on ${mosquitto.port} (pid ${mosquitto.pid})`);
  const load = fork(join(bundles, 'load.mjs'), [], { execArgv: [], stdio: 'inherit' });
  children.push(load);
  const ask = async <T>(message: object): Promise<T> => {
    load.send(message);
    const [answer] = (await once(load, 'message')) as [{ cmd: string; message?: string } & T];
    if (answer.cmd === 'error') throw new Error(answer.message);
    return answer;
  };

  const edges = Array.from({ length: settings.publishers }, (_, i) => `gw-bench-${i}`);
  const tokens = await Promise.all(edges.map(token));
  const publishers = (ports: number[], readings: number, auth: 'jwt' | 'mosquitto'): ClientSpec[] =>
    edges.map((edge, i) => ({
      port: ports[i % ports.length]!,
      clientId: edge,
      username: auth === 'jwt' ? edge : 'bench',
      password: auth === 'jwt' ? tokens[i]! : 'bench',
      topic: deviceTopic('DDATA', site, edge, 'shelf-1'),
      payloads: payloadsFor(readings),
    }));
  const kafkaPids = settings.brokerOnly
    ? []
    : [Number((await readFile(join(kafkaEnv.BV_KAFKA_DIR, 'kafka.pid'), 'utf8')).trim())];
  /**
   * One measurement, with the CPU time the brokers (and Kafka) spent on it per acknowledged
   * message: what the throughput would cost on a machine where they had the cores to themselves.
   */
  const publish = async (clients: ClientSpec[], brokerPids: number[]) => {
    const pids = [brokerPids, kafkaPids, [load.pid!]];
    const before = await Promise.all(pids.map(cpuSeconds));
    const r = await ask<{ acked: number; seconds: number; disconnected: number; total: number }>({
      cmd: 'publish',
      clients,
      window: settings.window,
      durationMs: settings.durationMs,
      warmupMs: settings.warmupMs,
    });
    const after = await Promise.all(pids.map(cpuSeconds));
    // To a tenth of a µs: aedes alone takes about 5, so a whole µs moved the CPU ratio by 0.2x.
    const perMessage = (i: number) =>
      Math.round(((after[i]! - before[i]!) * 1e7) / Math.max(1, r.total)) / 10;
    return { ...r, brokerUs: perMessage(0), kafkaUs: perMessage(1), loadUs: perMessage(2) };
  };

  const haveRedis = await serverAvailable('redis');
  const rows: (string | number)[][] = [];
  const perSecond = (r: { acked: number; seconds: number }) => Math.round(r.acked / r.seconds);

  if (settings.stages) {
    await bisect(publish, (ports) => publishers(ports, 1, 'jwt'), brokers, jwks);
    load.send({ cmd: 'exit' });
    mosquitto.stop();
    return;
  }

  // 1. QoS 1 throughput, one reading per message
  const mq = await publish(publishers([mosquitto.port], 1, 'mosquitto'), [mosquitto.pid]);
  console.log('mosquitto QoS 1:', mq);
  const bare = await startNodes(1, brokers, jwks, { bare: true });
  const gBare = await publish(publishers(bare.ports, 1, 'jwt'), bare.pids);
  console.log('aedes alone (no hooks) QoS 1:', gBare);
  await bare.close();
  const discard = await startNodes(1, brokers, jwks, { discard: true });
  const g0 = await publish(publishers(discard.ports, 1, 'jwt'), discard.pids);
  console.log('gateway x1, event log discarding (broker path only) QoS 1:', g0);
  await discard.close();
  const brokerGoals = [
    goal(
      'broker path CPU per message (JWT + ACL + Sparkplug decoding, discarding log) vs aedes with no hooks',
      `${g0.brokerUs} µs vs ${gBare.brokerUs} µs`,
      g0.brokerUs / Math.max(1, gBare.brokerUs),
      '<=',
      2,
    ),
    goal(
      'broker path rate (same, discarding log) vs Mosquitto',
      `${perSecond(g0)}/s vs ${perSecond(mq)}/s`,
      perSecond(g0) / perSecond(mq),
      '>=',
      1,
    ),
  ];
  if (settings.brokerOnly) {
    for (const g of brokerGoals) console.log(`goal: ${g.join(' | ')}`);
    console.log(`load average ${loadAverage()}`);
    load.send({ cmd: 'exit' });
    mosquitto.stop();
    return;
  }
  const one = await startNodes(1, brokers, jwks);
  const g1 = await publish(publishers(one.ports, 1, 'jwt'), one.pids);
  console.log('gateway x1 QoS 1:', g1);
  // the Kafka peer writes into the topic the gateway has just created, with its partitions
  const peerNode = await startNodes(1, brokers, jwks, { peer: true });
  const peer = await publish(publishers(peerNode.ports, 1, 'jwt'), peerNode.pids);
  console.log('aedes + bare kafkajs producer QoS 1:', peer);
  await peerNode.close();
  const g1b = await publish(publishers(one.ports, settings.readingsPerMessage, 'jwt'), one.pids);
  console.log(`gateway x1 ${settings.readingsPerMessage} readings/message:`, g1b);
  await one.close();
  let g2: typeof g1 | undefined;
  let g2b: typeof g1 | undefined;
  if (haveRedis) {
    const two = await startNodes(2, brokers, jwks, {
      redisUrl: redisUrl(),
      redisPrefix: `${uniqueName('bench')}:`,
    });
    g2 = await publish(publishers(two.ports, 1, 'jwt'), two.pids);
    console.log('gateway x2 (Redis cluster) QoS 1:', g2);
    g2b = await publish(publishers(two.ports, settings.readingsPerMessage, 'jwt'), two.pids);
    console.log(`gateway x2 ${settings.readingsPerMessage} readings/message:`, g2b);
    await two.close();
  }
  const ratio = (r: typeof g1) => (perSecond(r) / perSecond(mq)).toFixed(2);
  const row = (name: string, r: typeof g1, kafka: boolean) => [
    name,
    perSecond(r),
    ratio(r),
    r.brokerUs,
    kafka ? r.kafkaUs : '-',
  ];
  rows.push(row('Mosquitto 2 (password file + ACL, acks on receipt)', mq, false));
  rows.push(
    row('for comparison: aedes alone (no authentication, ACL or bridge, acks on receipt)', gBare, false),
  );
  rows.push(row('gateway, 1 node (JWT + ACL, ack after Kafka)', g1, true));
  rows.push(
    row('Kafka peer: aedes (no hooks) + bare kafkajs producer, same records, ack after Kafka', peer, true),
  );
  rows.push(row('for comparison: gateway, 1 node, event log discarding (nothing durable)', g0, false));
  if (g2) rows.push(row('gateway, 2 nodes on Redis (both cores)', g2, true));
  const best = g2 && perSecond(g2) > perSecond(g1) ? g2 : g1;
  const coresNeeded = (perSecond(mq) * (best.brokerUs + best.kafkaUs)) / 1e6;
  // Everything runs on this machine's cores: at Mosquitto's rate they leave this much CPU per message
  const cores = availableParallelism();
  const budgetUs = (cores * 1e6) / perSecond(mq);
  const ownUs = g0.brokerUs - gBare.brokerUs;
  const left = budgetUs - mq.loadUs - gBare.brokerUs - g1.kafkaUs;
  console.log(`ratio gateway/Mosquitto: 1 node ${ratio(g1)}${g2 ? `, 2 nodes ${ratio(g2)}` : ''}`);

  const readingRows: (string | number)[][] = [
    ['gateway, 1 node', perSecond(g1b), perSecond(g1b) * settings.readingsPerMessage],
  ];
  if (g2b)
    readingRows.push([
      'gateway, 2 nodes on Redis',
      perSecond(g2b),
      perSecond(g2b) * settings.readingsPerMessage,
    ]);

  // 3. memory per idle connection
  const n = settings.idleConnections;
  const idleEdges = Array.from({ length: n }, (_, i) => `gw-idle-${i}`);
  const idleTokens: string[] = [];
  for (let i = 0; i < n; i += 500)
    idleTokens.push(...(await Promise.all(idleEdges.slice(i, i + 500).map(token))));

  const mosqBefore = await rssOf(mosquitto.pid);
  await ask({
    cmd: 'idle',
    clients: idleEdges.map((e) => ({
      port: mosquitto.port,
      clientId: e,
      username: 'bench',
      password: 'bench',
    })),
  });
  const mosqAfter = await rssOf(mosquitto.pid);
  await ask({ cmd: 'release' });
  const bareIdle = await startNodes(1, brokers, jwks, { bare: true });
  const bareBefore = await bareIdle.memory(0);
  await ask({
    cmd: 'idle',
    clients: idleEdges.map((e) => ({ port: bareIdle.ports[0]!, clientId: e, username: e, password: 'x' })),
  });
  const bareAfter = await bareIdle.memory(0);
  await ask({ cmd: 'release' });
  await bareIdle.close();
  const idleNode = await startNodes(1, brokers, jwks);
  const gwBefore = await idleNode.memory(0);
  await ask({
    cmd: 'idle',
    clients: idleEdges.map((e, i) => ({
      port: idleNode.ports[0]!,
      clientId: e,
      username: e,
      password: idleTokens[i]!,
    })),
  });
  const gwAfter = await idleNode.memory(0);
  await ask({ cmd: 'release' });
  await idleNode.close();
  const perConn = (before: number, after: number) => ((after - before) / n / 1024).toFixed(1);
  console.log(`idle: mosquitto ${mosqBefore} -> ${mosqAfter}; gateway ${gwBefore} -> ${gwAfter}`);

  const gwPerConn = (gwAfter - gwBefore) / n / 1024;
  const goals = [
    ...brokerGoals,
    goal(
      'with Kafka: gateway, 1 node vs aedes + bare kafkajs producer (same records)',
      `${perSecond(g1)}/s vs ${perSecond(peer)}/s`,
      perSecond(g1) / perSecond(peer),
      '>=',
      0.8,
    ),
    goal(
      'idle memory per connection, against the 8 KiB limit',
      `${gwPerConn.toFixed(1)} KiB`,
      gwPerConn / 8,
      '<=',
      1,
    ),
  ];
  for (const g of goals) console.log(`goal: ${g.join(' | ')}`);

  load.send({ cmd: 'exit' });
  mosquitto.stop();

  const md = [
    '## Gateway (MQTT broker + Kafka bridge)',
    '',
    `${machineLine()}, ${settings.publishers} publishers x ${settings.window} QoS 1 messages in flight, ` +
      `${settings.durationMs / 1000} s per measurement after ${settings.warmupMs / 1000} s warm-up, one load generator ` +
      '(raw MQTT over loopback, its own process) for both brokers; a private single-node Kafka 4.1 (acks=all) ' +
      'started for the run. Run: `npm run bench -w gateway`, which builds first: every Node process measured ' +
      'runs an esbuild bundle (`dist/bench/*.mjs`, as production runs `dist/bitv-gateway.mjs`), not tsx.',
    '',
    '### QoS 1 publish throughput (one reading per Sparkplug DDATA)',
    '',
    table(['broker', 'PUBACKs/s', 'vs Mosquitto', 'broker CPU µs/message', 'Kafka CPU µs/message'], rows),
    '',
    `CPU per message is the brokers' own CPU time (all their threads) over every message of the measurement. ` +
      `At the gateway's cost (${best.brokerUs} µs, plus ${best.kafkaUs} µs in Kafka), Mosquitto's rate here ` +
      `(${perSecond(mq).toLocaleString('en')}/s) would take ${coresNeeded.toFixed(1)} cores for the gateway and Kafka; ` +
      `Mosquitto used ${mq.brokerUs} µs per message.`,
    '',
    `The budget on this machine: at Mosquitto's rate its ${cores} cores give ${budgetUs.toFixed(1)} µs of CPU per message ` +
      `to everything in the run. Of that, the load generator took ${mq.loadUs} µs (in the Mosquitto run), aedes alone ` +
      `${gBare.brokerUs} µs and Kafka ${g1.kafkaUs} µs (one node), which ${left >= 0 ? `leaves ${left.toFixed(1)} µs` : `is already ${(-left).toFixed(1)} µs over the budget`} ` +
      `before the gateway's own work (authentication, ACL, decoding, validation, CloudEvents, the Kafka client); ` +
      `it spends ${ownUs.toFixed(1)} µs on the broker path alone (discarding row minus aedes alone) and ` +
      `${(g1.brokerUs - gBare.brokerUs).toFixed(1)} µs with the Kafka client.`,
    '',
    `### Readings into Kafka (${settings.readingsPerMessage} readings per DDATA, batched by the bridge)`,
    '',
    table(['gateway', 'messages/s', 'readings/s'], readingRows),
    '',
    `### Memory per idle connection (${n.toLocaleString('en')} connections)`,
    '',
    table(
      ['broker', 'RSS before', 'RSS with connections', 'per connection'],
      [
        ['Mosquitto', mb(mosqBefore), mb(mosqAfter), `${perConn(mosqBefore, mosqAfter)} KiB`],
        ['aedes alone (after GC)', mb(bareBefore), mb(bareAfter), `${perConn(bareBefore, bareAfter)} KiB`],
        ['gateway (authenticated, after GC)', mb(gwBefore), mb(gwAfter), `${perConn(gwBefore, gwAfter)} KiB`],
      ],
    ),
    '',
    'Mosquitto acknowledges a message when it has received it; the gateway only when Kafka has it ' +
      '(all in-sync replicas), so its PUBACK waits for a Kafka round trip, and every message is decoded, ' +
      'validated and turned into CloudEvents in JavaScript. Everything (load generator, brokers, Kafka, ' +
      `Redis) shares the same two cores with other work: load average during the run ${loadAverage()}; ` +
      'throughput varies a lot from run to run, CPU per message much less. The "discarding" row is the broker ' +
      'path alone (authentication, ACL, Sparkplug decoding, validation, CloudEvents) with an event log that ' +
      'keeps nothing; from it to the first gateway row is the Kafka client (records, encoding) and the wait ' +
      'for Kafka. "aedes alone" is the library with no hooks: from it to the discarding row is our ' +
      'per-message work (authentication is per connection, not per message). With two nodes the load ' +
      'generator, two gateways and Kafka contend for the two cores, so they gain little over one here. ' +
      'The Kafka peer is the least a bridge with the same guarantee does: aedes without authentication, ACL ' +
      'or decoding, one hook that hands each message to a bare kafkajs producer (idempotent, one request in ' +
      'flight, acks=all, as ours) as the record the gateway writes for it (worked out once per distinct ' +
      'payload, outside the count), PUBACK after Kafka. The gateway merges the readings of a device within a ' +
      'batch into one record, so it writes fewer, larger records than the peer.',
    '',
    '### Goals (issue #17), each ratio against its limit',
    '',
    table(['goal', 'measured', 'ratio', 'limit', 'verdict'], goals),
    '',
    verdict(
      'readings into Kafka >= 50,000/s',
      Math.max(perSecond(g1b), g2b ? perSecond(g2b) : 0) * settings.readingsPerMessage,
      50_000,
    ),
  ].join('\n');
  console.log(`\n${md}\n`);
  await writeBenchSection('gateway', md);
}

/**
 * BENCH_ONLY=stages: CPU per message of each step from aedes alone to the whole gateway
 * (stages.ts), the steps alternating within each of BENCH_ROUNDS rounds on the same load.
 */
async function bisect(
  publish: (
    clients: ClientSpec[],
    pids: number[],
  ) => Promise<{ brokerUs: number; acked: number; seconds: number }>,
  clients: (ports: number[]) => ClientSpec[],
  brokers: string[],
  jwks: object,
) {
  const all: [string, Parameters<typeof startNodes>[3]][] = [
    ['aedes, no hooks', { bare: true }],
    ['+ authenticate', { stage: 'auth' }],
    ['+ authorizePublish (ACL)', { stage: 'acl' }],
    ['+ PUBACK after a microtask', { stage: 'tick' }],
    ['+ PUBACK held for the log', { stage: 'hold' }],
    ['+ decoding (the uplink)', { stage: 'decode' }],
    ['whole gateway, discarding', { discard: true }],
  ];
  const steps = all.filter((_, i) => !settings.steps || settings.steps.includes(i + 1));
  const us: number[][] = steps.map(() => []);
  const rates: number[][] = steps.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    for (const [i, [name, options]] of steps.entries()) {
      const node = await startNodes(1, brokers, jwks, options);
      const r = await publish(clients(node.ports), node.pids);
      await node.close();
      us[i]!.push(r.brokerUs);
      rates[i]!.push(Math.round(r.acked / r.seconds));
      console.log(
        `round ${round + 1} ${name}: ${r.brokerUs} µs, ${rates[i]!.at(-1)}/s, load ${loadAverage()}`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `\n${table(
      ['step', 'broker CPU µs/message (each round)', 'median', 'messages/s (median)'],
      steps.map(([name], i) => [name, us[i]!.join(', '), median(us[i]!), median(rates[i]!)]),
    )}\nload average ${loadAverage()}`,
  );
}

/** A goal's row: what was measured, the ratio, the limit it must meet, and whether it did. */
function goal(name: string, measured: string, ratio: number, op: '<=' | '>=', limit: number) {
  const met = op === '<=' ? ratio <= limit : ratio >= limit;
  return [name, measured, `${ratio.toFixed(2)}x`, `${op} ${limit}x`, met ? 'met' : 'NOT met'];
}

function verdict(goal: string, best: number, target: number): string {
  const met = best >= target;
  return `- Goal "${goal}": ${met ? 'met' : 'not met'} (best ${best.toLocaleString('en')}, ${(best / target).toFixed(2)}x).`;
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
}

function payloadsFor(readings: number): string[] {
  return Array.from({ length: 16 }, (_, k) =>
    Buffer.from(
      encodeReadings(
        Array.from({ length: readings }, (_, r) => ({
          seq: k * readings + r,
          time: Date.now(),
          bins: [
            { bin: 0, weightG: 1000 + r },
            { bin: 1, weightG: 2000 - r },
          ],
          temperatureC: 21.5,
        })),
        { seq: k, historical: false },
      ),
    ).toString('base64'),
  );
}

async function startNodes(
  count: number,
  brokers: string[],
  jwks: object,
  cluster: {
    redisUrl?: string;
    redisPrefix?: string;
    discard?: boolean;
    bare?: boolean;
    peer?: boolean;
    stage?: Stage;
  } = {},
) {
  const nodes: { child: ChildProcess; port: number; pid: number }[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(
      join(bundles, 'gateway-node.mjs'),
      [JSON.stringify({ nodeId: `bench-${i}`, brokers, jwks, issuer, ...cluster })],
      {
        execArgv: [
          '--expose-gc',
          ...(settings.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfileDir}`] : []),
          ...settings.nodeArgs,
        ],
        stdio: 'inherit',
      },
    );
    children.push(child);
    const [ready] = (await once(child, 'message')) as [{ port: number; pid: number }];
    nodes.push({ child, port: ready.port, pid: ready.pid });
  }
  return {
    ports: nodes.map((n) => n.port),
    pids: nodes.map((n) => n.pid),
    async memory(i: number): Promise<number> {
      const node = nodes[i]!;
      node.child.send({ cmd: 'memory' });
      const [m] = (await once(node.child, 'message')) as [{ rss: number }];
      return m.rss;
    },
    async close() {
      for (const n of nodes) {
        n.child.send({ cmd: 'close' });
        await once(n.child, 'exit');
      }
    },
  };
}

async function startMosquitto() {
  const port = await freePort();
  const passwd = join(dir.path, 'mosquitto.passwd');
  const acl = join(dir.path, 'mosquitto.acl');
  const conf = join(dir.path, 'mosquitto.conf');
  // Mosquitto started as root drops to its own user, which must be able to read these
  await chmod(dir.path, 0o755);
  await writeFile(passwd, '');
  await run('mosquitto_passwd', ['-b', passwd, 'bench', 'bench']);
  // the same rule the gateway enforces: a client writes only under its own edge node id
  await writeFile(acl, `pattern write spBv1.0/${site}/+/%c\npattern write spBv1.0/${site}/+/%c/#\n`);
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      'persistence false',
      'log_dest none',
      'max_keepalive 65535',
      '',
    ].join('\n'),
  );
  await chmod(passwd, 0o644);
  await chmod(acl, 0o644);
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
