/**
 * Pick confirmation latency: from the moment a bin's weight has settled (the reading that closes
 * the stability window) to the light-off command for that bin reaching the gateway's consumer of
 * `bv.commands`, p50/p99 over >= 1,000 confirmed lines, against the goal p99 <= 150 ms.
 *
 * Mode: the cloud in-process on its embedded defaults (PGlite, the database event log, stability
 * window 400 ms / 5 readings, every module mounted). This script plays the orders module (it
 * publishes `bv.order.confirmed.v1`), the shelves and the edge (4 shelves x 8 bins at 10 Hz with
 * 0.15 g noise, one `bv.telemetry` event per shelf per sample, as the gateway bridge publishes),
 * the gateway (a consumer of `bv.commands`, where the real gateway turns a command into a DCMD) and
 * a picker (it takes a lit bin's quantity 0-600 ms after its light-on command arrives).
 * t0 is the `readingTime` of the count change (the reading that settled it, stamped when published);
 * t1 is when the bin's light-off command is consumed. Not in these figures: the gateway's MQTT
 * DCMD, the edge agent and the serial link to the shelf (a few ms on one machine; see the gateway
 * and edge-agent benchmarks).
 */

import { loadavg } from 'node:os';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import {
  type CommandRequested,
  createEvent,
  orderConfirmedV1,
  platformEvents,
  telemetryReadingsV1,
  topics,
} from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { startCloud } from '../src/index.js';

/** One shelf per site: each site picks one list at a time, so the sites' picks run side by side. */
const shelves = 4;
const binsPerShelf = 8;
const sampleMs = 100;
const unitG = 50;
const startCount = 400;
const linesPerOrder = 4;
const targetLines = Number(process.env.BENCH_PICKS ?? 1000);
const maxSeconds = Number(process.env.BENCH_MAX_SECONDS ?? 900);
const goalP99Ms = 150;

function gaussian(): number {
  const u = 1 - Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Segments {
  count: number[];
  decide: number[];
  command: number[];
}

interface Run {
  latencies: number[];
  segments: Segments;
  orders: number;
  seconds: number;
  /** Light commands consumed (each `set_leds` counts once, whatever its bins). */
  commands: number;
  lightsOn: number;
}

async function run(): Promise<Run> {
  const database = await openDatabase();
  const registry = createRegistry();
  const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
  const cloud = await startCloud(
    { port: 0, grpcPort: -1 },
    { database, eventLog, logger: silentLogger, registry },
  );
  const serials = Array.from({ length: shelves }, (_, i) => `PICK${i}`);
  const skuOf = (shelf: number, bin: number) => `PICK-${shelf}-${bin}`;
  const sites: { siteId: string; gatewayId: string; shelfId: string }[] = [];
  for (const [s, serialNumber] of serials.entries()) {
    const seeded = await cloud.seedDemo({
      siteId: `site-${s}`,
      gatewayId: `gw-${s}`,
      shelves: [
        {
          serialNumber,
          bins: Array.from({ length: binsPerShelf }, (_, b) => ({
            sku: skuOf(s, b),
            unitWeightG: unitG,
            count: startCount,
            toleranceG: 5,
            tareG: 0,
          })),
        },
      ],
    });
    sites.push({ ...seeded, shelfId: (seeded.shelves[0] as { shelfId: string }).shelfId });
  }
  const units = new Map<string, number>();
  for (const site of sites)
    for (let b = 0; b < binsPerShelf; b++) units.set(`${site.shelfId}/${b}`, startCount);
  /** Lines confirmed per shelf (= per site). */
  const confirmedOn = new Map<string, number>();

  // The reading that settled each bin's latest count (the hub's `stock` message carries it).
  const settledAt = new Map<string, number>();
  // Where the time goes: the count committed (hub `stock`), the line decided (hub `pick`).
  const countedAt = new Map<string, number>();
  const decidedAt = new Map<string, number>();
  const confirmedLines = new Set<string>();
  cloud.services.hub.subscribe({
    sites: null,
    send: (m) => {
      const now = Date.now();
      if (m.type === 'stock' && m.readingTime) {
        settledAt.set(`${m.shelfId}/${m.bin}`, Date.parse(m.readingTime));
        countedAt.set(`${m.shelfId}/${m.bin}`, now);
      }
      if (m.type === 'pick') {
        for (const l of m.lines) {
          if (l.status !== 'confirmed' || confirmedLines.has(l.lineId)) continue;
          confirmedLines.add(l.lineId);
          decidedAt.set(`${l.shelfId}/${l.bin}`, now);
        }
      }
    },
  });
  const segments: Segments = { count: [], decide: [], command: [] };
  const wanted = new Map<string, number>();
  const latencies: number[] = [];
  let lightsOn = 0;
  let commandsSeen = 0;
  const gateway = await eventLog.subscribe({
    group: 'bench-gateway',
    topics: [topics.commands],
    handler: async (event) => {
      const c = (event.data as CommandRequested).command;
      const deviceId = (event.data as CommandRequested).deviceId;
      if (!deviceId) return;
      // One bin (`set_led`) or several of one shelf in one group command (`set_leds`).
      const leds = c.action === 'set_led' ? [c] : c.action === 'set_leds' ? c.leds : [];
      if (leds.length > 0) commandsSeen++;
      const now = Date.now();
      for (const led of leds) {
        const key = `${deviceId}/${led.bin}`;
        if (led.blink === 'off') {
          const t0 = settledAt.get(key);
          const t1 = countedAt.get(key);
          const t2 = decidedAt.get(key);
          if (t0 === undefined || t1 === undefined || t2 === undefined) continue;
          latencies.push(now - t0);
          confirmedOn.set(deviceId, (confirmedOn.get(deviceId) ?? 0) + 1);
          segments.count.push(t1 - t0);
          segments.decide.push(t2 - t1);
          segments.command.push(now - t2);
          continue;
        }
        lightsOn++;
        // The picker: reaches for the lit bin a moment later and takes what the line wants.
        const quantity = wanted.get(key) ?? 1;
        setTimeout(() => units.set(key, (units.get(key) as number) - quantity), Math.random() * 600);
      }
    },
  });

  let seq = 0;
  const tick = async () => {
    const now = Date.now();
    await Promise.all(
      sites.map(async (site) => {
        const bins = Array.from({ length: binsPerShelf }, (_, b) => ({
          bin: b,
          weightG: (units.get(`${site.shelfId}/${b}`) as number) * unitG + gaussian() * 0.15,
        }));
        await eventLog.publish(
          topics.telemetry,
          createEvent(telemetryReadingsV1, {
            source: '/bench',
            key: site.gatewayId,
            data: {
              groupId: site.siteId,
              edgeNodeId: site.gatewayId,
              deviceId: site.shelfId,
              historical: false,
              readings: [{ seq, time: new Date(now).toISOString(), bins }],
            },
          }),
        );
      }),
    );
    seq++;
  };
  let stopTicks = false;
  const ticking = (async () => {
    let next = Date.now();
    while (!stopTicks) {
      await tick();
      next += sampleMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  await sleep(1_500); // every bin settles once before the first order

  const started = Date.now();
  let orders = 0;
  const failures: string[] = [];
  const shopAt = async (s: number, site: (typeof sites)[number]) => {
    while (latencies.length < targetLines && Date.now() - started < maxSeconds * 1000) {
      const orderId = `bench-${s}-${orders++}`;
      const bins = new Set<number>();
      const lines: { lineId: string; sku: string; quantity: number }[] = [];
      while (lines.length < linesPerOrder) {
        const b = Math.floor(Math.random() * binsPerShelf);
        if (bins.has(b)) continue;
        bins.add(b);
        const quantity = 1 + Math.floor(Math.random() * 3);
        wanted.set(`${site.shelfId}/${b}`, quantity);
        lines.push({ lineId: `${orderId}-${lines.length + 1}`, sku: skuOf(s, b), quantity });
      }
      const before = confirmedOn.get(site.shelfId) ?? 0;
      await eventLog.publish(
        topics.orders,
        createEvent(orderConfirmedV1, {
          source: '/bench',
          key: orderId,
          data: {
            orderId,
            siteId: site.siteId,
            customerId: 'bench',
            lines,
            confirmedAt: new Date().toISOString(),
          },
        }),
      );
      // The site's next order once this one's lines are all confirmed (one pick at a time per site).
      const deadline = Date.now() + 60_000;
      const done = () => (confirmedOn.get(site.shelfId) ?? 0) >= before + linesPerOrder;
      while (!done() && Date.now() < deadline) await sleep(20);
      if (!done()) {
        failures.push(
          `order ${orderId}: ${(confirmedOn.get(site.shelfId) ?? 0) - before} of ${linesPerOrder} lines confirmed in 60 s`,
        );
        return;
      }
    }
  };
  await Promise.all(sites.map((site, s) => shopAt(s, site)));
  if (failures.length > 0) throw new Error(failures.join('; '));
  const seconds = (Date.now() - started) / 1000;
  stopTicks = true;
  await ticking;
  await gateway.close();
  await cloud.close();
  await eventLog.close();
  await database.close();
  if (latencies.length < targetLines)
    process.stderr.write(
      `only ${latencies.length} of ${targetLines} lines confirmed in ${maxSeconds} s: reported as measured\n`,
    );
  if (lightsOn < latencies.length) throw new Error('more lights went off than were lit');
  return { latencies, segments, orders, seconds, commands: commandsSeen, lightsOn };
}

async function main(): Promise<void> {
  const { latencies, segments, orders, seconds, commands, lightsOn } = await run();
  const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
  const p99 = percentile(sorted(latencies), 99);
  const row = (what: string, v: number[], goal: string) => {
    const s = sorted(v);
    return [
      what,
      s.length,
      percentile(s, 50),
      percentile(s, 90),
      percentile(s, 99),
      s[s.length - 1] ?? Number.NaN,
      goal,
    ];
  };
  const result = table(
    ['span', 'lines', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'goal 150 ms / p99'],
    [
      row(
        '**settled -> light-off command at the gateway**',
        latencies,
        `${(goalP99Ms / p99).toFixed(2)}x (${p99 <= goalP99Ms ? 'met' : 'missed'})`,
      ),
      row('of which: settled -> count committed (telemetry log, counting)', segments.count, ''),
      row('of which: count -> line decided (feed, fulfilment read+update)', segments.decide, ''),
      row('of which: decided -> command consumed (commands insert, bv.commands)', segments.command, ''),
    ],
  );
  const markdown = `## fulfilment: pick confirmation latency (settled weight -> light-off command)

${machineLine()}. Embedded defaults: PGlite in memory, database event log, stability window 400 ms and at least 5 readings, every module mounted (\`cloud/bench/pick-latency.ts\`, ${orders} orders of ${linesPerOrder} lines, ${seconds.toFixed(0)} s).
Mode: **in-process**, 4 sites of one 8-bin shelf each picking side by side (one list at a time per site); the bench plays the orders module (\`bv.order.confirmed.v1\`), the shelves at 10 Hz (one \`bv.telemetry\` event per shelf per sample), the gateway (a consumer of \`bv.commands\`) and a picker (takes a lit bin's quantity 0-600 ms after its light-on command).
t0: the reading that closed the stability window (the count change's \`readingTime\`); t1: the light-off command naming the bin (\`set_led\`, or one \`set_leds\` for several bins of a shelf) consumed from \`bv.commands\`, where the gateway turns it into a DCMD. The MQTT, edge agent and serial hops after that are not in these figures.
Light commands: ${commands} for ${lightsOn} bins lit and ${latencies.length} turned off (${((lightsOn + latencies.length) / Math.max(1, commands)).toFixed(2)} bins per command; one command per bin before the group command).
Load average of the shared machine during the run: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')}.

${result}
`;
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('fulfilment: pick confirmation latency', markdown);
}

await main();
