import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { gatewayDefaults } from '@bitv/gateway';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import {
  type CommandResult,
  commandRequestedV1,
  createEvent,
  deviceStateV1,
  platformEvents,
  telemetryMetricsV1,
  topics,
} from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { counter, createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { reportedShadowOf } from '../../cloud/src/shadows/reported.js';
import { Shadows } from '../../cloud/src/shadows/shadows.js';
import { openShadowDb } from '../../cloud/src/shadows/tables.js';
import { startRigGateway, startRigSimulation } from './gateway-rig.js';
import { repoRoot } from './platform-process.js';

/**
 * Issue #17, must show: a desired shadow change made while a gateway is offline is applied when it
 * returns. The real edge agent (its own process, `bitv-edge run`) on a simulated shelf, our gateway,
 * the durable event log and the cloud's shadows; the registry and commands modules are stood in for
 * by what they do on this path (the gateway's site; a command published on bv.commands).
 */
describe('shadows: a change made while the gateway is away is applied on its return', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 60_000);

  it('applies sample rate and tare set while the agent was stopped', { timeout: 240_000 }, async () => {
    const dir = await tempDir('bv-shadow-');
    cleanups.push(dir.remove);
    const database = await openDatabase({ dataDir: join(dir.path, 'db') });
    cleanups.push(() => database.close());
    const registry = createRegistry();
    const eventLog = await createEventLog({ database, registry: platformEvents(), metrics: registry });
    cleanups.push(() => eventLog.close());
    const gateway = await startRigGateway(eventLog, registry, cleanups);
    const simulation = await startRigSimulation({ shelves: 1, bins: 2, seed: 11 }, cleanups);
    const shelf = simulation.shelves[0]!;
    const shelfId = `shelf-${shelf.serialNumber}`;
    const edgeNodeId = uniqueName('gw-shadow');

    const shadows = new Shadows(
      await openShadowDb(database),
      {
        siteOf: async (id) => (id === edgeNodeId ? 'demo-site' : undefined),
        send: async (gatewayId, command, requestedBy) => {
          const commandId = crypto.randomUUID();
          await eventLog.publish(
            topics.commands,
            createEvent(commandRequestedV1, {
              source: 'test',
              key: gatewayId,
              data: {
                commandId,
                groupId: 'demo-site',
                edgeNodeId: gatewayId,
                command,
                expiresAt: new Date(Date.now() + 60_000).toISOString(),
                requestedBy,
              },
            }),
          );
          return { id: commandId };
        },
      },
      eventLog,
      silentLogger,
      counter(registry, 'bv_test_shadow_sent_total', 'x', ['why']),
      { resendAfterMs: 60_000 },
    );
    const results: CommandResult[] = [];
    const node = { births: 0, deaths: 0 };
    const sub = await eventLog.subscribe({
      group: uniqueName('shadow-test'),
      topics: [topics.telemetry, topics.deviceState, topics.commandResults],
      fromBeginning: true,
      handler: async (event) => {
        if (event.type === telemetryMetricsV1.type) {
          const parsed = reportedShadowOf(event.data as never);
          if (parsed && 'report' in parsed && parsed.report.gatewayId === edgeNodeId)
            await shadows.applyReported(parsed.report);
        } else if (event.type === deviceStateV1.type) {
          const s = event.data as { kind: string; edgeNodeId: string };
          if (s.edgeNodeId !== edgeNodeId) return;
          if (s.kind === 'NBIRTH') node.births++;
          if (s.kind === 'NDEATH') node.deaths++;
        } else results.push(event.data as CommandResult);
      },
    });
    cleanups.push(() => sub.close());

    const agent = agentProcess(gateway.mqttUrl, shelf.path, join(dir.path, 'edge'), edgeNodeId);
    cleanups.push(() => agent.kill());
    const why = (what: string) => (error: unknown) => {
      throw new Error(`${what}: ${String(error)}\n--- agent output ---\n${agent.output()}`);
    };

    agent.start();
    await eventually(() => node.births >= 1, 'the agent born', 60_000).catch(why('no NBIRTH'));
    // The shelf's DBIRTH: the agent drives it from now on.
    await eventually(() => shelf.snapshot().counters.readingsSent > 5, 'readings flowing', 60_000);

    // Online: the delta goes down at once.
    const v1 = await shadows.patchDesired(edgeNodeId, { gateway: { sampleRateHz: 2 } }, 'test', 0);
    expect(v1.version).toBe(1);
    await eventually(async () => (await shadows.get(edgeNodeId)).inSync, 'v1 in sync', 60_000).catch(
      why('v1 not applied'),
    );
    expect(shelf.snapshot().sampleRateMilliHz).toBe(2_000);

    // Away: the agent stops; the gateway sends its NDEATH (the will).
    await agent.kill();
    await eventually(() => node.deaths >= 1, 'the NDEATH', 60_000);
    const v2 = await shadows.patchDesired(
      edgeNodeId,
      { shelves: { [shelfId]: { sampleRateHz: 5, tare: { '1': 1 } } } },
      'test',
      1,
    );
    expect(v2).toMatchObject({ version: 2, reportedVersion: 1, inSync: false });
    expect(v2.delta).toEqual({ shelves: { [shelfId]: { sampleRateHz: 5, tare: { '1': 1 } } } });
    // The command had nowhere to go: the gateway answers that the edge node is not connected.
    await eventually(
      () => results.some((r) => r.edgeNodeId === edgeNodeId && r.status === 'failed'),
      'the not-connected result',
      30_000,
    );
    expect(shelf.snapshot().sampleRateMilliHz).toBe(2_000);

    // Back: its NBIRTH says version 1, so the cloud sends the delta again and the agent applies it.
    agent.start();
    await eventually(
      async () => {
        const s = await shadows.get(edgeNodeId);
        return s.reportedVersion === 2 && s.inSync;
      },
      'v2 applied after the return',
      90_000,
    ).catch(why('v2 not applied'));
    expect(shelf.snapshot().sampleRateMilliHz).toBe(5_000);
    const back = await shadows.get(edgeNodeId);
    expect(back.reported).toEqual({
      gateway: { sampleRateHz: 2 },
      shelves: { [shelfId]: { sampleRateHz: 5, tare: { '1': 1 } } },
    });
    expect(node.births).toBeGreaterThanOrEqual(2);
    console.info(
      `shadow offline test: v1 applied online, v2 set while away and applied after the return (births ${node.births}, results ${results
        .filter((r) => r.edgeNodeId === edgeNodeId)
        .map((r) => r.status)
        .join(',')})`,
    );
  });
});

/** `bitv-edge run` as its own process (as in edge-kill.test.ts), stopped with SIGKILL. */
function agentProcess(brokerUrl: string, serialPort: string, dataDir: string, edgeNodeId: string) {
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
