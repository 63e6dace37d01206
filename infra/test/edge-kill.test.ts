import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { type SimulatedShelfHandle, startSimulation } from '@bitv/firmware-sim';
import { type GatewayHandle, gatewayDefaults, startGateway } from '@bitv/gateway';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents, type Reading, type TelemetryReadings, topics } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import { Random } from '@bitv/shared/random';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './platform-process.js';

const KILLS = 10;
const SEED = 20261122;

/**
 * The edge agent's promise against our own gateway rather than Mosquitto: a simulated shelf
 * (replay on, over TCP, a link that loses what is sent while nobody reads) streams into
 * `bitv-edge run` (its own process), and the gateway acknowledges only what the durable event log
 * has. Whatever happens to the agent or the gateway, the log ends up with every reading the shelf
 * sampled, each under one outbox seq (copies only identical), and no gap reported.
 */
describe('edge agent -> our gateway -> event log', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 60_000);

  it(`loses nothing across ${KILLS} SIGKILLs of the agent (seed ${SEED})`, { timeout: 180_000 }, async () => {
    const random = new Random(SEED);
    const rig = await startRig(cleanups);
    rig.agent.start();
    await rig.births(1, 'the first NBIRTH through the gateway');
    for (let k = 0; k < KILLS; k++) {
      // a random moment of a running session: after its NBIRTH, while it stores and publishes
      await rig.births(k + 1, `agent session ${k} up`);
      await new Promise((r) => setTimeout(r, 300 + random.next() * 1_200));
      await rig.agent.kill();
      await new Promise((r) => setTimeout(r, random.next() * 500));
      rig.agent.start();
    }
    const sampled = await rig.allSampledInLog();
    expect(rig.log.births).toBeGreaterThan(KILLS);
    console.info(
      `kill test through the gateway: ${KILLS} kills, ${sampled} sampled, ${rig.log.readings.size} in the log, ` +
        `NBIRTHs ${rig.log.births}`,
    );
  });

  it('loses nothing while the gateway is down, and the backlog comes back historical', {
    timeout: 120_000,
  }, async () => {
    const rig = await startRig(cleanups);
    rig.agent.start();
    await rig.births(1, 'the first NBIRTH through the gateway');
    const sampled = () => rig.shelf.snapshot().counters.readingsSent;
    const first = sampled();
    await eventually(
      () => rig.log.readings.size > 0 && sampled() >= first + 10,
      'live readings flowing',
      30_000,
    );
    const port = Number(new URL(rig.gateway.mqttUrl).port);
    await rig.gateway.close();
    const down = sampled();
    // the gateway stays away while the shelf samples 40 more readings (4 s at 10 Hz)
    await eventually(() => sampled() >= down + 40, 'the shelf sampling while the gateway is down', 30_000);
    const back = sampled();
    await rig.restartGateway(port);
    await rig.allSampledInLog();
    // what the agent stored while the gateway was away arrived marked historical
    const during = [...rig.log.readings.values()].filter((r) => r.seq > down + 5 && r.seq < back - 5);
    expect(during.length).toBeGreaterThan(10);
    expect(during.every((r) => rig.log.historical.has(r.seq))).toBe(true);
  });
});

/** What the gateway made durable, read back from the log. */
interface LogView {
  readings: Map<number, Reading>;
  historical: Set<number>;
  births: number;
}

async function startRig(cleanups: (() => Promise<unknown>)[]) {
  const dir = await tempDir('bv-edge-gw-');
  cleanups.push(dir.remove);
  const database = await openDatabase({ dataDir: join(dir.path, 'db') });
  cleanups.push(() => database.close());
  const registry = createRegistry();
  const eventLog: EventLog = await createEventLog({
    database,
    registry: platformEvents(),
    metrics: registry,
  });
  cleanups.push(() => eventLog.close());
  const gatewayAt = (port: number) =>
    startGateway(
      {
        ...gatewayDefaults,
        host: '127.0.0.1',
        mqttPort: port,
        wsPort: -1,
        opsPort: -1,
        allowAnonymous: true,
      },
      { eventLog, registry },
    );
  let gateway: GatewayHandle = await gatewayAt(0);
  cleanups.push(() => gateway.close());
  const simulation = await startSimulation(
    { shelves: 1, bins: 2, seed: 7, transport: 'tcp', tcpHost: '127.0.0.1', controlPort: null, replay: true },
    { registry: createRegistry() },
  );
  cleanups.push(() => simulation.close());
  const shelf: SimulatedShelfHandle = simulation.shelves[0]!;
  const device = `shelf-${shelf.serialNumber}`;

  const log: LogView = { readings: new Map(), historical: new Set(), births: 0 };
  const conflicts: number[] = [];
  const gaps: unknown[] = [];
  const sub = await eventLog.subscribe({
    group: uniqueName('edge-check'),
    topics: [topics.telemetry, topics.deviceState],
    fromBeginning: true,
    handler: async (event) => {
      if (event.type === 'bv.telemetry.gap.v1') gaps.push(event.data);
      if (event.type === 'bv.device-state.changed.v1' && (event.data as { kind: string }).kind === 'NBIRTH') {
        log.births++;
      }
      if (event.type !== 'bv.telemetry.readings.v1') return;
      const data = event.data as TelemetryReadings;
      if (data.deviceId !== device) return;
      for (const r of data.readings) {
        const seen = log.readings.get(r.seq);
        if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(r)) conflicts.push(r.seq);
        log.readings.set(r.seq, r);
        if (data.historical) log.historical.add(r.seq);
      }
    },
  });
  cleanups.push(() => sub.close());

  const agent = agentProcess(gateway.mqttUrl, shelf.path, join(dir.path, 'edge'));
  cleanups.push(() => agent.kill());

  return {
    gateway,
    shelf,
    log,
    agent,
    async restartGateway(port: number) {
      gateway = await gatewayAt(port);
      this.gateway = gateway;
    },
    births: (n: number, what: string) =>
      eventually(() => log.births >= n, what, 60_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- agent output ---\n${agent.output()}`);
      }),
    /** Waits until every reading sampled so far is in the log, then checks what must hold. */
    async allSampledInLog(): Promise<number> {
      const sampled = shelf.snapshot().counters.readingsSent;
      await eventually(
        () => Array.from({ length: sampled }, (_, i) => i + 1).every((seq) => log.readings.has(seq)),
        `every one of the ${sampled} readings the shelf sampled in the log`,
        60_000,
      );
      const seqs = [...log.readings.keys()].sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // one seq per reading, no hole
      expect(conflicts).toEqual([]);
      expect(gaps).toEqual([]);
      expect(shelf.snapshot().counters.replayEvicted).toBe(0);
      return sampled;
    },
  };
}

/** `bitv-edge run` as its own process, on the embedded defaults but for the test's servers. */
function agentProcess(brokerUrl: string, serialPort: string, dataDir: string) {
  let child: ChildProcess | undefined;
  let output = '';
  const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
  const env = {
    ...inherited,
    BV_GROUP_ID: 'demo-site',
    BV_EDGE_NODE_ID: uniqueName('gw-edge'),
    BV_PRIMARY_HOST_ID: gatewayDefaults.primaryHostId,
    BV_MQTT_URL: brokerUrl,
    BV_EDGE_DATA_DIR: dataDir,
    BV_EDGE_SERIAL_PORTS: serialPort,
    BV_EDGE_OPS_PORT: '-1',
    BV_EDGE_RECONNECT_INITIAL_MS: '100',
    BV_EDGE_RECONNECT_MAX_MS: '1000',
    BV_LOG_LEVEL: 'warn',
  };
  return {
    output: () => output,
    start() {
      child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/src/cli.ts', 'run'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      });
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await once(c, 'exit');
    },
  };
}
