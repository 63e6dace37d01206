import { join } from 'node:path';
import { type CloudHandle, startCloud } from '@bitv/cloud';
import { type EdgeAgentHandle, loadEdgeConfig, provision, startEdgeAgent } from '@bitv/edge-agent';
import { startSimulation } from '@bitv/firmware-sim';
import { type GatewayHandle, startGateway } from '@bitv/gateway';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import {
  type BvEvent,
  type DeviceState,
  platformEvents,
  type TelemetryMetrics,
  type TelemetryReadings,
  topics,
} from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { newClient, type UPayload } from 'sparkplug-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Issue #13 item 8: a third-party Sparkplug B edge node, Eclipse Tahu's own Node client
 * (`sparkplug-client`), beside our edge agent and its simulated shelf, through the real gateway
 * (credentials from the cloud) into the event log and the cloud. Its DBIRTH used to be dropped
 * (no `device/bin_count`) while its DDATA passed: hosts saw data from a device never born.
 */
const admin = { email: 'admin@tahu.test', password: 'tahu-interop-pw-1' };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let database: Database;
let eventLog: EventLog;
let cloud: CloudHandle;
let gateway: GatewayHandle;
/** Everything the log carried on the telemetry and device-state topics, in arrival order. */
const logged: BvEvent[] = [];

beforeAll(async () => {
  const registry = createRegistry();
  database = await openDatabase();
  eventLog = await createEventLog({
    database,
    registry: platformEvents(),
    metrics: registry,
    databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
  });
  cloud = await startCloud(
    { port: 0, grpcPort: -1, admin },
    { database, eventLog, logger: silentLogger, registry },
  );
  await cloud.seedDemo({ shelves: [] });
  gateway = await startGateway(
    { mqttPort: 0, wsPort: -1, opsPort: -1, jwksUrl: cloud.jwksUrl, jwtIssuer: 'bitvelocity' },
    { eventLog, logger: silentLogger },
  );
  cloud.setBrokerUrl(gateway.mqttUrl);
  const sub = await eventLog.subscribe({
    group: uniqueName('tahu-watch'),
    topics: [topics.telemetry, topics.deviceState],
    fromBeginning: true,
    handler: async (event) => {
      logged.push(event);
    },
  });
  cleanups.push(() => sub.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await gateway?.close();
  await cloud?.close();
  await eventLog?.close();
  await database?.close();
});

async function operatorToken(): Promise<string> {
  const response = await fetch(`${cloud.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

const of = (edgeNodeId: string, type: string) =>
  logged.filter((e) => e.type === type && (e.data as { edgeNodeId: string }).edgeNodeId === edgeNodeId);
const states = (edgeNodeId: string) =>
  of(edgeNodeId, 'bv.device-state.changed.v1').map((e) => e.data as DeviceState);
const metricEvents = (edgeNodeId: string) =>
  of(edgeNodeId, 'bv.telemetry.metrics.v1').map((e) => e.data as TelemetryMetrics);

describe('a third-party Sparkplug edge node (Eclipse Tahu sparkplug-client) beside ours', () => {
  it('its births, data and deaths are bridged; the cloud stores and serves its metrics', async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.remove());

    // Ours: the edge agent with one simulated shelf, provisioned by the cloud.
    const simulation = await startSimulation(
      { shelves: 1, bins: 2, seed: 8, transport: 'tcp', tcpHost: '127.0.0.1', controlPort: null },
      { registry: createRegistry() },
    );
    cleanups.push(() => simulation.close());
    const ours = await provision({
      claimToken: await cloud.createClaimToken({ siteId: 'demo-site', gatewayId: 'gw-demo-1' }),
      cloudUrl: cloud.url,
    });
    const agent: EdgeAgentHandle = await startEdgeAgent(
      {
        ...loadEdgeConfig(undefined, {}),
        groupId: ours.groupId,
        edgeNodeId: ours.edgeNodeId,
        credential: ours.credential,
        brokerUrl: gateway.mqttUrl,
        dataDir: join(dir.path, 'edge'),
        serialPorts: [simulation.shelves[0]!.path],
        opsPort: -1,
        logLevel: 'silent' as const,
      },
      { logger: silentLogger, registry: createRegistry() },
    );
    cleanups.push(() => agent.close());

    // Theirs: registered and provisioned like any gateway, then run by Tahu's client.
    await cloud.services.registry.createGateway({ id: 'tahu-1', siteId: 'demo-site', name: 'Tahu node' });
    const theirs = await provision({
      claimToken: await cloud.createClaimToken({ siteId: 'demo-site', gatewayId: 'tahu-1' }),
      cloudUrl: cloud.url,
    });
    const t0 = Date.now();
    const pump = (pressure: number, at: number): UPayload => ({
      timestamp: at,
      metrics: [
        { name: 'Inputs/Pressure', type: 'Double', value: pressure, timestamp: at },
        { name: 'Inputs/Running', type: 'Boolean', value: true, timestamp: at },
        { name: 'Properties/Model', type: 'String', value: 'P-100', timestamp: at },
      ],
    });
    const tahu = newClient({
      serverUrl: gateway.mqttUrl,
      username: theirs.edgeNodeId,
      password: theirs.credential,
      clientId: theirs.edgeNodeId,
      groupId: theirs.groupId,
      edgeNode: theirs.edgeNodeId,
      publishDeath: true,
      mqttOptions: { reconnectPeriod: 0 },
    });
    let stopped = false;
    cleanups.push(() => stopped || tahu.stop());
    const errors: Error[] = [];
    tahu.on('error', (error) => errors.push(error));
    await new Promise<void>((resolve) => {
      tahu.once('birth', () => {
        tahu.publishNodeBirth({
          timestamp: t0,
          metrics: [{ name: 'Node Info/Vendor', type: 'String', value: 'Eclipse Tahu', timestamp: t0 }],
        });
        tahu.publishDeviceBirth('pump-7', pump(2.5, t0));
        resolve();
      });
    });
    await eventually(
      () => states('tahu-1').some((s) => s.kind === 'DBIRTH' && s.deviceId === 'pump-7'),
      "the Tahu device's DBIRTH in the log",
      30_000,
    );
    tahu.publishDeviceData('pump-7', {
      timestamp: t0 + 1000,
      metrics: [{ name: 'Inputs/Pressure', type: 'Double', value: 2.75, timestamp: t0 + 1000 }],
    });
    await eventually(
      () => metricEvents('tahu-1').some((m) => m.kind === 'DDATA'),
      "the Tahu device's DDATA in the log",
      30_000,
    );
    tahu.publishDeviceDeath('pump-7', { timestamp: t0 + 2000, metrics: [] });
    await eventually(
      () => states('tahu-1').some((s) => s.kind === 'DDEATH' && s.deviceId === 'pump-7'),
      "the Tahu device's DDEATH in the log",
      30_000,
    );
    // Its death: Tahu's stop() publishes the NDEATH (bdSeq of its NBIRTH) before it disconnects.
    tahu.stop();
    stopped = true;
    await eventually(
      () => states('tahu-1').some((s) => s.kind === 'NDEATH'),
      "the Tahu node's NDEATH in the log",
      30_000,
    );
    expect(errors).toEqual([]);

    // The log: its node and device born before its data, its metrics as generic telemetry.
    expect(states('tahu-1').map((s) => `${s.kind}${s.deviceId ? ` ${s.deviceId}` : ''}`)).toEqual([
      'NBIRTH',
      'DBIRTH pump-7',
      'DDEATH pump-7',
      'NDEATH',
    ]);
    expect(metricEvents('tahu-1').map((m) => [m.kind, m.deviceId, m.metrics.map((x) => x.name)])).toEqual([
      ['NBIRTH', undefined, ['Node Info/Vendor']],
      ['DBIRTH', 'pump-7', ['Inputs/Pressure', 'Inputs/Running', 'Properties/Model']],
      ['DDATA', 'pump-7', ['Inputs/Pressure']],
    ]);
    // Ours, beside it: readings as before; its only generic metrics are its shadow report
    // (`shadow/*`, read by the shadows module; docs/fleet.md).
    await eventually(
      () => of('gw-demo-1', 'bv.telemetry.readings.v1').length > 0,
      "our agent's readings in the log",
      30_000,
    );
    const readings = of('gw-demo-1', 'bv.telemetry.readings.v1').map((e) => e.data as TelemetryReadings);
    expect(readings.flatMap((r) => r.readings).length).toBeGreaterThan(0);
    const ourMetricNames = metricEvents('gw-demo-1').flatMap((m) => m.metrics.map((x) => x.name));
    expect(ourMetricNames.filter((name) => !name.startsWith('shadow/'))).toEqual([]);

    // The cloud: the metrics stored and served, latest value and history.
    const token = await operatorToken();
    const get = (path: string) =>
      fetch(`${cloud.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    type DeviceMetrics = {
      deviceId: string | null;
      metrics: { name: string; type: string; value: unknown; history?: { value: unknown }[] }[];
    };
    await eventually(
      async () => {
        const body = (await (await get('/api/v1/devices/tahu-1/pump-7/metrics')).json()) as DeviceMetrics;
        return body.metrics.find((m) => m.name === 'Inputs/Pressure')?.value === 2.75;
      },
      'the latest pressure through the API',
      30_000,
    );
    const device = (await (await get('/api/v1/devices/tahu-1/pump-7/metrics')).json()) as DeviceMetrics;
    expect(device.metrics.map((m) => [m.name, m.type, m.value, m.history?.map((h) => h.value)])).toEqual([
      ['Inputs/Pressure', 'Double', 2.75, [2.75, 2.5]],
      ['Inputs/Running', 'Boolean', true, [true]],
      ['Properties/Model', 'String', 'P-100', ['P-100']],
    ]);
    const node = (await (await get('/api/v1/gateways/tahu-1/metrics')).json()) as {
      devices: DeviceMetrics[];
    };
    expect(node.devices.map((d) => d.deviceId)).toEqual([null, 'pump-7']);
    expect(node.devices[0]?.metrics).toMatchObject([{ name: 'Node Info/Vendor', value: 'Eclipse Tahu' }]);
    // Its NDEATH took the gateway offline in the registry, as any gateway's.
    await eventually(
      async () =>
        ((await (await get('/api/v1/gateways/tahu-1')).json()) as { online: boolean }).online === false,
      'the Tahu gateway offline in the cloud',
      30_000,
    );
    // The fleet page lists it among the devices that are not shelves.
    // The dashboard's session cookie (bv_access) carries the same access token.
    const page = await (
      await fetch(`${cloud.url}/fleet`, { headers: { cookie: `bv_access=${token}` } })
    ).text();
    expect(page).toContain('pump-7');
    expect(page).toContain('Inputs/Pressure');
    const openapi = (await (await fetch(`${cloud.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toContain('/api/v1/devices/{gatewayId}/{deviceId}/metrics');
  });
});
