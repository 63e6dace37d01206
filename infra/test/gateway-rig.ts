import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { type CloudConfig, type CloudHandle, startCloud } from '@bitv/cloud';
import {
  type SimulatedShelfHandle,
  type Simulation,
  type SimulationOptions,
  startSimulation,
} from '@bitv/firmware-sim';
import { type GatewayHandle, gatewayDefaults, startGateway } from '@bitv/gateway';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { tempDir } from '@bitv/shared/testing';
import { e2eAdmin } from './browser.js';
import { repoRoot } from './platform-process.js';

/**
 * A whole path in one test: the cloud with every module (in process, port 0), our gateway
 * (anonymous MQTT, the same durable event log), a simulated shelf on TCP, and the real edge agent
 * as its own process, which the test can stop (SIGKILL: the broker sends its NDEATH) and start
 * again. The agent is the demo gateway the cloud seeded, so the registry knows it.
 */
export interface GatewayRig {
  cloud: CloudHandle;
  gateway: GatewayHandle;
  shelf: SimulatedShelfHandle;
  shelfId: string;
  gatewayId: string;
  agent: AgentProcess;
  close(): Promise<void>;
}

/**
 * The cloud with every module in this process (port 0, the e2e admin), on PGlite in `dir/db` and
 * the durable database event log the rig's gateway shares; closed by `cleanups` in reverse order.
 */
export async function startRigCloud(
  dir: string,
  cleanups: (() => Promise<unknown>)[],
  config: Partial<CloudConfig> = {},
): Promise<{ eventLog: EventLog; cloud: CloudHandle; registry: Registry }> {
  const database = await openDatabase({ dataDir: join(dir, 'db') });
  cleanups.push(() => database.close());
  const registry = createRegistry();
  const eventLog = await createEventLog({
    database,
    registry: platformEvents(),
    metrics: registry,
    databaseLog: { pollIntervalMs: 50 },
  });
  cleanups.push(() => eventLog.close());
  const cloud = await startCloud(
    { port: 0, grpcPort: -1, admin: { email: e2eAdmin.email, password: e2eAdmin.password }, ...config },
    { database, eventLog, logger: silentLogger, registry },
  );
  cleanups.push(() => cloud.close());
  return { eventLog, cloud, registry };
}

/** Our gateway as the rigs run it: one node, an ephemeral MQTT port, anonymous edge nodes, no other listener. */
export async function startRigGateway(
  eventLog: EventLog,
  registry: Registry,
  cleanups: (() => Promise<unknown>)[],
): Promise<GatewayHandle> {
  const gateway = await startGateway(
    { ...gatewayDefaults, host: '127.0.0.1', mqttPort: 0, wsPort: -1, opsPort: -1, allowAnonymous: true },
    { eventLog, registry },
  );
  cleanups.push(() => gateway.close());
  return gateway;
}

/**
 * Simulated shelves as the rigs run them: on TCP (the agent's serial paths), no control port, and
 * replaying what the agent has not acknowledged when it reconnects (a killed agent loses nothing).
 */
export async function startRigSimulation(
  options: Omit<SimulationOptions, 'transport' | 'tcpHost' | 'controlPort' | 'replay'>,
  cleanups: (() => Promise<unknown>)[],
): Promise<Simulation> {
  const simulation = await startSimulation(
    { ...options, transport: 'tcp', tcpHost: '127.0.0.1', controlPort: null, replay: true },
    { registry: createRegistry() },
  );
  cleanups.push(() => simulation.close());
  return simulation;
}

export async function startGatewayRig(prefix: string): Promise<GatewayRig> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = await tempDir(prefix);
    cleanups.push(dir.remove);
    const { eventLog, cloud, registry } = await startRigCloud(dir.path, cleanups);
    const { gatewayId } = await cloud.seedDemo({ shelves: [] });
    const gateway = await startRigGateway(eventLog, registry, cleanups);
    const simulation = await startRigSimulation({ shelves: 1, bins: 3, seed: 5 }, cleanups);
    const shelf = simulation.shelves[0] as SimulatedShelfHandle;
    const agent = agentProcess(gateway.mqttUrl, shelf.path, join(dir.path, 'edge'), gatewayId);
    cleanups.push(() => agent.kill());
    return { cloud, gateway, shelf, shelfId: `shelf-${shelf.serialNumber}`, gatewayId, agent, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface AgentProcess {
  output(): string;
  start(): void;
  kill(): Promise<void>;
}

/** `bitv-edge run` as its own process on the demo site, stopped with SIGKILL. */
export function agentProcess(
  brokerUrl: string,
  /** One path, or several separated by commas (BV_EDGE_SERIAL_PORTS). */
  serialPort: string,
  dataDir: string,
  edgeNodeId: string,
  /** More settings (firmware store, release keys, ...). */
  extraEnv: Record<string, string> = {},
): AgentProcess {
  let child: ChildProcess | undefined;
  let output = '';
  const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
  const env = {
    ...inherited,
    BV_GROUP_ID: 'demo-site',
    BV_EDGE_NODE_ID: edgeNodeId,
    BV_PRIMARY_HOST_ID: gatewayDefaults.primaryHostId,
    BV_MQTT_URL: brokerUrl,
    BV_EDGE_DATA_DIR: dataDir,
    BV_EDGE_SERIAL_PORTS: serialPort,
    BV_EDGE_OPS_PORT: '-1',
    BV_EDGE_HEALTH_INTERVAL_MS: '2000',
    BV_EDGE_RECONNECT_INITIAL_MS: '100',
    BV_EDGE_RECONNECT_MAX_MS: '1000',
    BV_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  return {
    output: () => output,
    start() {
      child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/src/cli.ts', 'run'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The agent logs (warnings and up) to stdout and crashes to stderr: a failing test shows both.
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await once(c, 'exit');
    },
  };
}
