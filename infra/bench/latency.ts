/**
 * Full-chain latency: a weight change at the simulated shelf -> the WebSocket message at a
 * dashboard client, through every hop of `npm start` (firmware-sim on a socat pty -> edge agent
 * with its SQLite outbox -> MQTT Sparkplug B -> gateway -> database event log -> cloud inventory
 * -> `/api/v1/live`), on the embedded defaults (PGlite, event log in the same database).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, table, writeBenchSection } from '@bitv/shared/bench';
import { loadConfig } from '@bitv/shared/config';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { sleep } from '@bitv/shared/retry';
import { z } from 'zod';
import { platformConfigSpec } from '../src/local/config.js';
import { type PlatformHandle, startPlatform } from '../src/local/platform.js';
import { type BinTarget, LiveProbe, type PhaseResult, percentile } from './probe.js';

const usage = `Usage: npm run bench -w infra [-- options]

Starts the whole platform in this process (as npm start does: simulated shelves on socat ptys,
edge agent, gateway, cloud on PGlite with the database event log; ports 0, a temp run dir, logs
to a file there), logs in as the admin, subscribes a WebSocket client to the demo site's live
channel, waits until every bin is weighed, then picks and restocks 1-3 items through the
simulator's HTTP control API, one change at a time per bin, every bin in parallel, and times the
first live 'weight' message showing the new weight and the 'stock' message with the new count.
Writes the 'platform-latency' section of docs/benchmarks.md.

Options:
  --changes N        changes per phase (default 1000)
  --phases LIST      no-hand,hand (default both): items moved without / with the simulator's
                     default hand on the shelf (600 ms per pick, 1200 ms per restock)
  --shelves N        simulated shelves (default 2)
  --bins N           bins per shelf (default 6)
  --timeout S        hard limit for the whole run, seconds (default 600)
  --no-write         print only, leave docs/benchmarks.md alone
  -h, --help         this text`;

const siteId = 'demo-site';
const adminEmail = 'bench@bench.local';
const adminPassword = 'bench-password-1234';
const perChangeTimeoutMs = 15_000;

const sessionBody = z.object({ accessToken: z.string() });
const layoutBody = z.object({
  shelves: z.array(z.object({ id: z.string(), deviceId: z.string(), serialNumber: z.string() })),
  bins: z.array(
    z.object({
      shelfId: z.string(),
      bin: z.number().int(),
      unitWeightG: z.number().nullable(),
      count: z.number().int(),
      weightG: z.number().nullable(),
      weighed: z.boolean(),
    }),
  ),
});

type Phase = 'no-hand' | 'hand';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      changes: { type: 'string', default: '1000' },
      phases: { type: 'string', default: 'no-hand,hand' },
      shelves: { type: 'string', default: '2' },
      bins: { type: 'string', default: '6' },
      timeout: { type: 'string', default: '600' },
      'no-write': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const changes = positiveInt(values.changes, '--changes');
  const timeoutS = positiveInt(values.timeout, '--timeout');
  const phases = values.phases.split(',').map((p) => {
    if (p !== 'no-hand' && p !== 'hand') throw new Error(`--phases: unknown phase ${p}`);
    return p as Phase;
  });

  // Hard limit: stop driving changes, then give the shutdown 30 s before giving up on it.
  const abort = new AbortController();
  const limit = setTimeout(() => {
    process.stderr.write(`time limit of ${timeoutS} s reached; stopping\n`);
    abort.abort();
    setTimeout(() => {
      process.stderr.write('shutdown did not finish in 30 s, exiting\n');
      process.exit(1);
    }, 30_000).unref();
  }, timeoutS * 1000);
  limit.unref();

  const runDir = await mkdtemp(join(tmpdir(), 'bv-bench-platform-'));
  const logFile = join(runDir, 'platform.log');
  const logger = createLogger('', {
    base: { service: 'bitvelocity-bench' },
    level: 'info',
    destination: logFile,
  });
  const config = loadConfig(platformConfigSpec, {
    BV_RUN_DIR: runDir,
    BV_HTTP_PORT: '0',
    BV_GATEWAY_MQTT_PORT: '0',
    BV_GATEWAY_WS_PORT: '-1',
    BV_SIM_CONTROL_PORT: '0',
    BV_DEMO_SHELVES: values.shelves,
    BV_DEMO_BINS: values.bins,
    BV_ADMIN_EMAIL: adminEmail,
    BV_ADMIN_PASSWORD: adminPassword,
  });
  const loadBefore = loadavg();
  process.stdout.write(`starting the platform (logs: ${logFile}) ...\n`);
  const platform = await startPlatform(config, { logger, registry: createRegistry() });
  const results: { phase: Phase; result: PhaseResult }[] = [];
  let probe: LiveProbe | undefined;
  try {
    const controlUrl = platform.simControlUrl;
    if (!controlUrl) throw new Error('the simulator has no control API');
    const token = await login(platform.dashboardUrl);
    probe = await LiveProbe.connect(platform.dashboardUrl, siteId, token);
    const bins = await weighedBins(platform, token, abort.signal);
    process.stdout.write(`${bins.length} bins weighed; driving ${changes} changes per phase\n`);
    for (const phase of phases) {
      if (abort.signal.aborted) break;
      const result = await probe.run({
        controlUrl,
        bins,
        changes,
        handMs: phase === 'hand' ? undefined : 0,
        perChangeTimeoutMs,
        signal: abort.signal,
      });
      results.push({ phase, result });
      process.stdout.write(
        `${phase}: ${result.changes} changes in ${result.seconds.toFixed(0)} s, ${result.missed} missed, ${result.unexpectedCounts} wrong counts (stock messages with a count other than the simulator's)\n`,
      );
      // Let the last changes settle before the next phase reads its baselines.
      await sleep(2_000);
    }
  } finally {
    probe?.close();
    await platform.close();
    logger.flush();
    clearTimeout(limit);
  }
  const loadAfter = loadavg();
  const markdown = report(results, { shelves: config.shelves, bins: config.bins, loadBefore, loadAfter });
  process.stdout.write(`\n${markdown}\n`);
  if (results.length === 0 || results.some((r) => r.result.weight.length === 0))
    throw new Error('no measurements; see the log');
  if (!values['no-write']) await writeBenchSection('platform-latency', markdown);
  await rm(runDir, { recursive: true, force: true });
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}

async function login(cloudUrl: string): Promise<string> {
  const response = await fetch(`${cloudUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: adminEmail, password: adminPassword }),
  });
  if (!response.ok) throw new Error(`login: HTTP ${response.status} ${await response.text()}`);
  return sessionBody.parse(await response.json()).accessToken;
}

/** Waits (bounded) until the cloud has matched every bin's seeded count to its first settled weight. */
async function weighedBins(
  platform: PlatformHandle,
  token: string,
  signal: AbortSignal,
): Promise<BinTarget[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await fetch(`${platform.dashboardUrl}/api/v1/sites/${siteId}/layout`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`layout: HTTP ${response.status} ${await response.text()}`);
    const layout = layoutBody.parse(await response.json());
    const expected = platform.shelves.reduce((n, s) => n + s.bins, 0);
    const ready = layout.bins.filter((b) => b.weighed && b.weightG !== null && b.unitWeightG !== null);
    if (ready.length === expected) {
      return ready.map((b) => {
        const shelf = platform.shelves.find((s) => s.deviceId === b.shelfId);
        if (!shelf) throw new Error(`layout names an unknown shelf ${b.shelfId}`);
        return {
          shelfId: b.shelfId,
          serialNumber: shelf.serialNumber,
          bin: b.bin,
          unitWeightG: b.unitWeightG as number,
          count: b.count,
          weightG: b.weightG as number,
        };
      });
    }
    if (Date.now() > deadline || signal.aborted)
      throw new Error(`only ${ready.length} of ${expected} bins weighed after 120 s`);
    await sleep(500);
  }
}

function report(
  results: { phase: Phase; result: PhaseResult }[],
  run: { shelves: number; bins: number; loadBefore: number[]; loadAfter: number[] },
): string {
  const fmt = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0));
  const rows: (string | number)[][] = [];
  const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
  const row = (label: string, what: string, fromT0: number[], fromT1: number[]) => {
    const s0 = sorted(fromT0);
    const s1 = sorted(fromT1);
    return [
      label,
      what,
      s0.length,
      fmt(percentile(s0, 50)),
      fmt(percentile(s0, 90)),
      fmt(percentile(s0, 99)),
      fmt(s0.at(-1) ?? Number.NaN),
      fmt(percentile(s1, 50)),
      fmt(percentile(s1, 99)),
    ];
  };
  for (const { phase, result: r } of results) {
    const label = phase === 'hand' ? 'hand on the shelf (600 ms pick, 1200 ms restock)' : 'no hand';
    rows.push(
      row(
        label,
        '`weight`: first showing the change (closer to the new weight than the old)',
        r.moved,
        r.movedFromAnswer,
      ),
      row(label, '`weight`: first within half a unit of the new weight', r.weight, r.weightFromAnswer),
      row(label, '`stock`: the new count', r.stock, r.stockFromAnswer),
    );
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(', ');
  const noHand = results.find((r) => r.phase === 'no-hand')?.result;
  const p99Of = (xs: number[]) =>
    percentile(
      [...xs].sort((x, y) => x - y),
      99,
    );
  const verdict = !noHand?.moved.length
    ? 'not measured in this run'
    : (() => {
        const upper = p99Of(noHand.moved);
        const lower = p99Of(noHand.movedFromAnswer);
        const met = upper <= 200 ? 'met' : lower <= 200 ? 'met only when measured from t1' : 'not met';
        return `${met} in this run (p99 ${fmt(lower)}-${fmt(upper)} ms for the first \`weight\` message showing the change; ${fmt(p99Of(noHand.weightFromAnswer))}-${fmt(p99Of(noHand.weight))} ms until one shows the new weight within half a unit)`;
      })();
  const notes = results
    .map(
      ({ phase, result: r }) =>
        `${phase}: ${r.changes} changes in ${r.seconds.toFixed(0)} s, control API round trip t1 - t0 p50 ${fmt(percentile(sorted(r.controlRtt), 50))} / p99 ${fmt(percentile(sorted(r.controlRtt), 99))} ms, ${r.missed} without their count within ${perChangeTimeoutMs / 1000} s, ${r.weightUnseen} whose new weight no \`weight\` message showed (the count came without it), ${r.unexpectedCounts} \`stock\` messages with a count other than the simulator's`,
    )
    .join('; ');
  return `## Full chain: weight change at the simulator -> WebSocket client (infra/bench/latency.ts)

${machineLine()}; \`npm run bench -w infra\`. The whole \`npm start\` platform in one process on its embedded defaults: ${run.shelves} simulated shelves x ${run.bins} bins at 10 Hz on socat pseudo-terminals -> edge agent (SQLite outbox) -> MQTT Sparkplug B -> gateway -> event log in PGlite -> cloud inventory -> \`/api/v1/live\`, the client a WebSocket in the same process subscribed to the demo site, logged in as the admin over HTTP. Load average of the shared 2-core machine: ${load(run.loadBefore)} before, ${load(run.loadAfter)} after.

A change = a pick or restock of 1-3 items of one bin through the simulator's HTTP control API; one change at a time per bin (the next 150-250 ms after its count arrived), all bins in parallel. The simulator applies the change while serving the request and returns no timestamp of its own, so the change happened between **t0** (just before the request is sent) and **t1** (its answer arrives): the true latency lies between the figures from t1 (the last two columns) and those from t0 (the round trip is long at times because the simulator's HTTP server shares the one event loop with the whole platform). Latencies (ms) end when the client receives the message: the first \`weight\` message that shows the change (its weight closer to the new weight than to the old; the live-weight path, including the wait for the shelf's next 10 Hz sample), the first one within half a unit of the new weight (which adds the simulated weighing platform's ringing after a change, ~120 ms time constant, more for 3 items than for 1), and the \`stock\` message with the new count (which by design waits for the weight to settle: the cloud's stability window of >= 400 ms and 5 readings within the product's tolerance, without a trend and with little scatter, plus the hand when there is one).

${table(['phase', 'WebSocket message', 'changes', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p50 from t1', 'p99 from t1'], rows)}

${notes}. The goal (p99 <= 200 ms on the embedded defaults) is for the live \`weight\` message of a change made without a hand: ${verdict}; with a hand resting on the shelf a pick shows as the hand's force until it lifts, so those rows measure the simulated hand more than the platform. A \`stock\` message with a count other than the simulator's (a wrong intermediate count) would be the cloud taking a hand held steady for a moment as a settled weight, the right count following when the hand lifts; the former stability window (150 ms and 3 readings, band only) did so for 67 of 1,000 changes with a hand.`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
