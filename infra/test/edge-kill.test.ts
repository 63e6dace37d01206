import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Random, type Simulation, startSimulation } from '@bitv/firmware-sim';
import { type GatewayHandle, gatewayDefaults, startGateway } from '@bitv/gateway';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog, type Subscription } from '@bitv/shared/event-log';
import { platformEvents, type TelemetryReadings, topics } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './platform-process.js';

const KILLS = 10;
const SEED = 20261122;

/**
 * The edge agent's promise against our own gateway rather than Mosquitto: a simulated shelf
 * (replay on, over TCP, a link that loses what is sent while nobody reads) streams, the agent
 * (`bitv-edge run`, its own process) is SIGKILLed at seeded random moments, and the gateway writes
 * what it acknowledges into the durable event log. Afterwards the log holds every reading the
 * shelf sampled, each under one outbox seq (copies only identical), with no gap reported.
 */
describe('edge agent killed with SIGKILL, delivering through our gateway into the event log', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }, 60_000);

  it(`loses nothing across ${KILLS} kills (seed ${SEED})`, { timeout: 180_000 }, async () => {
    const random = new Random(SEED);
    const dir = await tempDir('bv-edge-kill-gw-');
    cleanups.push(dir.remove);
    const database: Database = await openDatabase({ dataDir: join(dir.path, 'db') });
    cleanups.push(() => database.close());
    const registry = createRegistry();
    const eventLog: EventLog = await createEventLog({
      database,
      registry: platformEvents(),
      metrics: registry,
    });
    cleanups.push(() => eventLog.close());
    const gateway: GatewayHandle = await startGateway(
      { ...gatewayDefaults, host: '127.0.0.1', mqttPort: 0, wsPort: -1, opsPort: -1, allowAnonymous: true },
      { eventLog, registry },
    );
    cleanups.push(() => gateway.close());
    const simulation: Simulation = await startSimulation(
      {
        shelves: 1,
        bins: 2,
        seed: 7,
        transport: 'tcp',
        tcpHost: '127.0.0.1',
        controlPort: null,
        replay: true,
      },
      { registry: createRegistry() },
    );
    cleanups.push(() => simulation.close());
    const shelf = simulation.shelves[0]!;
    const device = `shelf-${shelf.serialNumber}`;

    // What the gateway made durable, read back from the log.
    const readings = new Map<number, string>();
    const conflicts: number[] = [];
    const gaps: unknown[] = [];
    let births = 0;
    const sub: Subscription = await eventLog.subscribe({
      group: uniqueName('kill-check'),
      topics: [topics.telemetry, topics.deviceState],
      fromBeginning: true,
      handler: async (event) => {
        if (event.type === 'bv.telemetry.gap.v1') gaps.push(event.data);
        if (event.type === 'bv.device-state.changed.v1' && (event.data as { kind: string }).kind === 'NBIRTH')
          births++;
        if (event.type !== 'bv.telemetry.readings.v1') return;
        const data = event.data as TelemetryReadings;
        if (data.deviceId !== device) return;
        for (const r of data.readings) {
          const text = JSON.stringify(r);
          const seen = readings.get(r.seq);
          if (seen !== undefined && seen !== text) conflicts.push(r.seq);
          readings.set(r.seq, text);
        }
      },
    });
    cleanups.push(() => sub.close());

    let agent: ChildProcess | undefined;
    let output = '';
    const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
    const env = {
      ...inherited,
      BV_GROUP_ID: 'demo-site',
      BV_EDGE_NODE_ID: uniqueName('gw-kill'),
      BV_PRIMARY_HOST_ID: gatewayDefaults.primaryHostId,
      BV_MQTT_URL: gateway.mqttUrl,
      BV_EDGE_DATA_DIR: join(dir.path, 'edge'),
      BV_EDGE_SERIAL_PORTS: shelf.path,
      BV_EDGE_OPS_PORT: '-1',
      BV_EDGE_RECONNECT_INITIAL_MS: '100',
      BV_EDGE_RECONNECT_MAX_MS: '1000',
      BV_LOG_LEVEL: 'warn',
    };
    const start = () => {
      agent = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/src/cli.ts', 'run'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      agent.stderr?.on('data', (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      });
    };
    const kill = async () => {
      const a = agent;
      if (!a || a.exitCode !== null || a.signalCode !== null) return;
      a.kill('SIGKILL');
      await once(a, 'exit');
    };
    cleanups.push(kill);

    start();
    await eventually(() => births > 0, 'the first NBIRTH through the gateway', 60_000);
    for (let k = 0; k < KILLS; k++) {
      // a random moment of a running session: after its NBIRTH, while it stores and publishes
      const before = births;
      await eventually(() => births > before || k === 0, `agent session ${k} up`, 60_000).catch((error) => {
        throw new Error(`${String(error)}\n--- agent output ---\n${output}`);
      });
      await new Promise((r) => setTimeout(r, 300 + random.next() * 1_200));
      await kill();
      await new Promise((r) => setTimeout(r, random.next() * 500));
      start();
    }

    const sampled = shelf.snapshot().counters.readingsSent;
    await eventually(
      () => Array.from({ length: sampled }, (_, i) => i + 1).every((seq) => readings.has(seq)),
      `every one of the ${sampled} readings the shelf sampled in the log`,
      60_000,
    );
    const seqs = [...readings.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // one seq per reading, no hole
    expect(conflicts).toEqual([]);
    expect(gaps).toEqual([]);
    expect(births).toBeGreaterThan(KILLS);
    expect(shelf.snapshot().counters.replayEvicted).toBe(0);
    console.info(
      `kill test through the gateway: ${KILLS} kills, ${sampled} sampled, ${seqs.length} in the log, NBIRTHs ${births}`,
    );
  });
});
