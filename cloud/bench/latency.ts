/**
 * Weight change at a shelf -> WebSocket message at a dashboard client, p50/p99 over >= 1,000 changes.
 *
 * Mode: the cloud in-process on its embedded defaults (PGlite, the database event log, stability
 * window 400 ms / 5 readings); this script plays the shelves and the edge: 4 shelves x 8 bins sampled at 10 Hz
 * (the simulator's rate) with 0.15 g of noise, one `bv.telemetry` event per shelf per sample,
 * published on the event log as the gateway bridge does. A change = a pick or restock of 1-3 units
 * in one bin; its time is when the first reading carrying the new weight is published.
 * Measured at a WebSocket client subscribed to the site: the first `weight` message showing the new
 * weight, and the `stock` message with the new count (which waits for the weight to settle).
 */

import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { createEvent, platformEvents, telemetryReadingsV1, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import WebSocket from 'ws';
import { Tokens } from '../src/auth/tokens.js';
import { startCloud } from '../src/index.js';

const binsPerShelf = 8;
const sampleMs = 100;
const unitG = 50;
const targetChanges = Number(process.env.BENCH_CHANGES ?? 1000);
const maxSeconds = 120;

interface BinState {
  count: number;
  pending?: { t0: number; target: number; weightAt?: number };
  readyAt: number;
}

function gaussian(): number {
  const u = 1 - Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function run(shelves: number): Promise<{ weight: number[]; stock: number[] }> {
  const database = await openDatabase();
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    { port: 0, grpcPort: -1 },
    { database, eventLog, logger: silentLogger, registry },
  );
  const serials = Array.from({ length: shelves }, (_, i) => `BENCH${i}`);
  await cloud.seedDemo({
    shelves: serials.map((serialNumber) => ({
      serialNumber,
      bins: Array.from({ length: binsPerShelf }, () => ({
        unitWeightG: unitG,
        count: 20,
        toleranceG: 5,
        tareG: 0,
        lowStockThreshold: 2,
      })),
    })),
  });
  const s = cloud.services;
  const user = await s.users.create({
    email: 'bench@local',
    name: 'bench',
    role: 'staff',
    password: 'bench-password',
  });
  const token = (await new Tokens(s.keys, s.tokens.settings).accessToken(user)).token;
  const ws = new WebSocket(`${cloud.url.replace(/^http/, 'ws')}/api/v1/live?site=demo-site`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });

  const state = new Map<string, BinState>();
  for (const serial of serials)
    for (let b = 0; b < binsPerShelf; b++) state.set(`shelf-${serial}/${b}`, { count: 20, readyAt: 0 });
  const weightLatency: number[] = [];
  const stockLatency: number[] = [];
  ws.on('message', (data) => {
    const now = Date.now();
    const m = JSON.parse(String(data)) as {
      type: string;
      shelfId: string;
      bin: number;
      weightG: number;
      count: number;
    };
    const bin = state.get(`${m.shelfId}/${m.bin}`);
    if (!bin?.pending) return;
    if (
      m.type === 'weight' &&
      bin.pending.weightAt === undefined &&
      Math.abs(m.weightG - bin.pending.target * unitG) < unitG / 2
    ) {
      bin.pending.weightAt = now;
      weightLatency.push(now - bin.pending.t0);
    }
    if (m.type === 'stock' && m.count === bin.pending.target) {
      stockLatency.push(now - bin.pending.t0);
      bin.count = bin.pending.target;
      bin.pending = undefined;
      bin.readyAt = now + sampleMs;
    }
  });

  // Settle every bin first (the first stable readings count nothing: the weights match the seed).
  const seq = new Map<string, number>(serials.map((x) => [x, 0]));
  const tick = async (changeBins: boolean) => {
    const now = Date.now();
    await Promise.all(
      serials.map(async (serial) => {
        const bins = [];
        for (let b = 0; b < binsPerShelf; b++) {
          const bin = state.get(`shelf-${serial}/${b}`) as BinState;
          if (changeBins && !bin.pending && now >= bin.readyAt && Math.random() < 0.5) {
            const delta = 1 + Math.floor(Math.random() * 3);
            const target = bin.count > 8 ? bin.count - delta : bin.count + delta;
            bin.pending = { t0: now, target };
          }
          const units = bin.pending ? bin.pending.target : bin.count;
          bins.push({ bin: b, weightG: units * unitG + gaussian() * 0.15 });
        }
        const n = seq.get(serial) as number;
        seq.set(serial, n + 1);
        const event = createEvent(telemetryReadingsV1, {
          source: '/bench',
          key: 'gw-demo-1',
          data: {
            groupId: 'demo-site',
            edgeNodeId: 'gw-demo-1',
            deviceId: `shelf-${serial}`,
            historical: false,
            readings: [{ seq: n, time: new Date(now).toISOString(), bins }],
          },
        });
        await eventLog.publish(topics.telemetry, event);
      }),
    );
  };
  const started = Date.now();
  let next = Date.now();
  for (let i = 0; i < 5; i++) {
    await tick(false);
    next += sampleMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  while (stockLatency.length < targetChanges && Date.now() - started < maxSeconds * 1000) {
    await tick(true);
    next += sampleMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  ws.close();
  await cloud.close();
  await eventLog.close();
  await database.close();

  if (stockLatency.length < targetChanges)
    throw new Error(`only ${stockLatency.length} changes completed in ${maxSeconds} s`);
  return { weight: weightLatency, stock: stockLatency };
}

async function main(): Promise<void> {
  const scenarios = [1, 4];
  const rows: (string | number)[][] = [];
  for (const shelves of scenarios) {
    const { weight, stock } = await run(shelves);
    const w = [...weight].sort((a, b) => a - b);
    const c = [...stock].sort((a, b) => a - b);
    const row = (name: string, xs: number[]) => [
      `${shelves} x ${binsPerShelf} bins (${shelves * 10} events/s)`,
      name,
      xs.length,
      percentile(xs, 50),
      percentile(xs, 90),
      percentile(xs, 99),
      xs[xs.length - 1] ?? Number.NaN,
    ];
    rows.push(
      row('`weight` (live weight shows the change)', w),
      row('`stock` (count changed, after settling)', c),
    );
  }
  const result = table(
    ['shelves', 'WebSocket message', 'changes', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    rows,
  );
  const markdown = `## cloud: shelf weight change -> WebSocket client

${machineLine()}. Embedded defaults: PGlite in memory, database event log, stability window 400 ms and at least 5 readings (no trend, little scatter).
Mode: **in-process, telemetry published directly** on \`bv.telemetry\` (the bench plays the shelves at 10 Hz with 0.15 g noise, one event per shelf per sample, as the gateway bridge publishes them); the simulator -> edge agent -> gateway hops are not in these figures. Client: one WebSocket subscribed to the site, in the same process. Load average of the shared machine during the run: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')}.

${result}

The \`stock\` latency includes, by design, the stability window: a count changes only once five readings in a row (>= 400 ms) agree within the product's tolerance without a trend, which at 10 Hz is the fifth reading after the change (~450 ms after it), so that is its floor and what is above it is the pipeline (event log, the count transaction with the reading watermark, WebSocket). The goal p99 <= 200 ms is for the live \`weight\` message. Almost all CPU time is PGlite (single-threaded WASM: the event log's writes and reads, and the count transactions); readings that change no count cost the cloud no query.`;
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('cloud', markdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
