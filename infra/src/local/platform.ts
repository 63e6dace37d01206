import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type CloudHandle, startCloud } from '@bitv/cloud';
import { type EdgeAgentHandle, loadEdgeConfig, provision, startEdgeAgent } from '@bitv/edge-agent';
import { type Simulation, startSimulation } from '@bitv/firmware-sim';
import { type GatewayHandle, gatewayDefaults, startGateway } from '@bitv/gateway';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Registry } from '@bitv/shared/metrics';
import type { PlatformConfig } from './config.js';
import { demoFlashSale } from './demo-flash-sale.js';
import { demoFloor, type FloorCredential } from './demo-floor.js';
import { DemoShopper } from './demo-shopper.js';
import { startPaymentProviders } from './payment-providers.js';
import { pickStationQuantity } from './pick-station.js';

export interface PlatformHandle {
  dashboardUrl: string;
  /** `host:port` of the cloud's gRPC InventoryService; undefined when turned off. */
  grpcUrl: string | undefined;
  mqttUrl: string;
  wsUrl: string | undefined;
  simControlUrl: string | undefined;
  /** The embedded legacy SOAP bank's endpoint (BV_BANK_URL for a cloud elsewhere); undefined when off. */
  bankUrl: string | undefined;
  /** The embedded rest-pay service (BV_REST_PAY_URL); undefined when off. */
  restPayUrl: string | undefined;
  database: Database['kind'];
  eventLog: EventLog['kind'];
  /** The gateway alone, or a member of a broker cluster on Redis (REDIS_URL). */
  cluster: 'single node' | 'redis';
  shelves: { deviceId: string; serialNumber: string; path: string; bins: number }[];
  /** Set on the first start only, when the admin password was generated. */
  admin: { email: string; password: string } | undefined;
  close(): Promise<void>;
}

/**
 * The whole platform in one process, on the embedded defaults: simulated shelves on
 * pseudo-terminals, the cloud (registry, inventory, API, dashboard), the MQTT gateway bridged into
 * the event log, and an edge agent provisioned through the real claim-token flow. Each part is
 * started through the same function its own CLI uses; only the wiring lives here.
 */
export async function startPlatform(
  config: PlatformConfig,
  deps: { logger: Logger; registry: Registry },
): Promise<PlatformHandle> {
  const { logger, registry } = deps;
  const runDir = resolve(config.runDir);
  await mkdir(runDir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      await c().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };
  try {
    const database = await openDatabase(
      config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(runDir, 'db') },
    );
    closers.push(() => database.close());
    const eventLog = await createEventLog({
      ...(config.kafkaBrokers?.length
        ? { kafka: { brokers: config.kafkaBrokers, clientId: 'bv-platform' } }
        : {}),
      database,
      registry: platformEvents(),
      logger,
      metrics: registry,
    });
    closers.push(() => eventLog.close());

    // The picker reads the pick station once the cloud is up (it takes one unit per reach till then).
    let floor: (() => FloorCredential | undefined) | undefined;
    const simulation: Simulation = await startSimulation(
      {
        shelves: config.shelves,
        bins: config.bins,
        seed: config.seed,
        transport: 'pty',
        dir: join(runDir, 'tty'),
        // The shelves' goods and settings outlive a restart: an earlier pick must not come back.
        stateDir: join(runDir, 'shelves'),
        controlHost: config.host,
        controlPort: config.simControlPort,
        picker: {
          errorRate: config.pickerErrorRate,
          wrongBinPicks: config.pickerWrongPicks,
          putBackAfterMs: config.pickerPutBackMs,
          quantity: pickStationQuantity(() => floor?.()),
        },
      },
      { logger, registry },
    );
    closers.push(() => simulation.close());

    // The payment providers first (the cloud's adapters need their URLs), told the cloud's address after.
    const payments = await startPaymentProviders(config, runDir, deps);
    closers.push(() => payments.close());

    const cloud: CloudHandle = await startCloud(
      {
        host: config.host,
        port: config.httpPort,
        grpcPort: config.grpcPort,
        admin: {
          email: config.adminEmail,
          ...(config.adminPassword ? { password: config.adminPassword } : {}),
        },
        payments: payments.cloudSettings,
        webhooks: {
          allowPrivate: config.webhooksAllowPrivate,
          schedule: config.webhooksSchedule,
          ...(config.amqpUrl ? { amqpUrl: config.amqpUrl } : {}),
        },
      },
      { database, eventLog, logger, registry },
    );
    closers.push(() => cloud.close());
    payments.notifyCloudAt(cloud.url);
    const demo = await cloud.seedDemo({
      shelves: simulation.shelves.map((shelf) => ({
        serialNumber: shelf.serialNumber,
        bins: shelf.snapshot().bins.map((b) => ({ unitWeightG: b.unitWeightG, count: b.count })),
      })),
    });

    floor = await demoFloor(cloud, demo.siteId);
    await demoFlashSale(cloud, floor, demo.siteId, logger);
    if (config.demoShopper) {
      const credential = floor;
      const shopper = new DemoShopper(
        cloud,
        () => credential()?.token,
        {
          siteId: demo.siteId,
          everySeconds: config.demoShopperEverySeconds,
          maxOpenPicks: 2,
          seed: config.seed,
        },
        logger,
      );
      shopper.start();
      closers.push(async () => shopper.stop());
    }

    const gateway: GatewayHandle = await startGateway(
      {
        ...gatewayDefaults,
        host: config.host,
        mqttPort: config.mqttPort,
        wsPort: config.wsPort,
        redisUrl: config.redisUrl,
        redisPrefix: config.redisPrefix,
        // One process, one registry: the cloud's /metrics already shows the gateway's series.
        opsPort: -1,
        jwksUrl: cloud.jwksUrl,
      },
      { eventLog, logger, registry },
    );
    closers.push(() => gateway.close());
    cloud.setBrokerUrl(gateway.mqttUrl);

    const edge = await startProvisionedAgent(runDir, cloud, gateway, simulation, demo, deps);
    closers.push(() => edge.close());

    return {
      dashboardUrl: cloud.url,
      grpcUrl: cloud.grpcUrl,
      mqttUrl: gateway.mqttUrl,
      wsUrl: gateway.wsUrl,
      simControlUrl: simulation.control?.url,
      bankUrl: payments.bankUrl,
      restPayUrl: payments.restPayUrl,
      database: database.kind,
      eventLog: eventLog.kind,
      cluster: config.redisUrl ? 'redis' : 'single node',
      shelves: simulation.shelves.map((s) => ({
        deviceId: `shelf-${s.serialNumber}`,
        serialNumber: s.serialNumber,
        path: s.path,
        bins: s.bins,
      })),
      admin: cloud.bootstrapAdmin,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The demo gateway claims its credential the way a real one does (`bitv-edge provision`), once:
 * later starts reuse the config file it wrote, as a gateway in an aisle would after a reboot.
 */
async function startProvisionedAgent(
  runDir: string,
  cloud: CloudHandle,
  gateway: GatewayHandle,
  simulation: Simulation,
  demo: { siteId: string; gatewayId: string },
  deps: { logger: Logger; registry: Registry },
): Promise<EdgeAgentHandle> {
  const edgeDir = join(runDir, 'edge');
  const configFile = join(edgeDir, 'config.json');
  await mkdir(edgeDir, { recursive: true });
  if (!existsSync(configFile)) {
    const claimToken = await cloud.createClaimToken({ siteId: demo.siteId, gatewayId: demo.gatewayId });
    await provision({ claimToken, cloudUrl: cloud.url, configFile, dataDir: join(edgeDir, 'data') });
  }
  const config = loadEdgeConfig(configFile, {});
  return startEdgeAgent(
    {
      ...config,
      // The broker and the shelves' links may have moved since the config was written.
      brokerUrl: gateway.mqttUrl,
      serialPorts: simulation.shelves.map((s) => s.path),
      opsPort: -1,
    },
    { logger: deps.logger, registry: deps.registry },
  );
}

/** What a person or a test needs to find the running platform, written to `<run dir>/platform.json`. */
export async function writePlatformFile(runDir: string, platform: PlatformHandle): Promise<string> {
  const file = join(resolve(runDir), 'platform.json');
  const { close: _close, admin: _admin, ...visible } = platform;
  await writeFile(file, `${JSON.stringify({ ...visible, pid: process.pid }, null, 2)}\n`);
  return file;
}
