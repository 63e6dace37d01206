import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@bitv/shared/log';
import type { Registry } from '@bitv/shared/metrics';
import { type OpsServer, startOpsServer } from '@bitv/shared/ops';
import type { Metric } from '@bitv/shared/sparkplug';
import { CommandExecutor } from './commands/executor.js';
import type { EdgeConfig } from './config.js';
import { DeviceDirectory } from './devices.js';
import type { Driver, DriverSink, DriverStatus } from './drivers/driver.js';
import { FirmataDriver } from './drivers/firmata.js';
import { ShelfLinkDriver } from './drivers/shelf-link.js';
import { agentMetrics } from './metrics.js';
import { agentUpdateRunner } from './ota/agent-update.js';
import { commandOnTrial, reportAgentUpdate } from './ota/update-report.js';
import { shelfFirmwareRunner } from './ota/updater.js';
import { CommandStore, type Gap, Outbox, type OutboxStats } from './outbox/index.js';
import { PendingGaps } from './pending-gaps.js';
import { createShadow } from './shadow/index.js';
import { Uplink, type UplinkStatus } from './uplink/uplink.js';
import { agentVersion } from './version.js';

export interface EdgeAgentStatus {
  version: string;
  edgeNodeId: string;
  uplink: UplinkStatus;
  links: DriverStatus[];
  outbox: OutboxStats & { oldestUnsentAgeMs: number | null };
}

export interface EdgeAgentHandle {
  status(): EdgeAgentStatus;
  /** The ops server's base URL (/healthz, /metrics), when enabled. */
  opsUrl: string | undefined;
  /** Replaces the MQTT password for the next sessions (credential rotation). */
  setCredential(credential: string): void;
  /** Answers the `agent_update` command of an ended trial (done, or failed: rolled_back), once. */
  reportAgentUpdate(): Promise<void>;
  close(): Promise<void>;
}

export interface EdgeAgentDeps {
  logger: Logger;
  registry: Registry;
  /** Asks whoever runs the agent for a restart into the new `current` version (agent updates). */
  requestRestart?: () => void;
}

/** Starts the edge agent: outbox, drivers, uplink, command execution and the ops server. */
export async function startEdgeAgent(config: EdgeConfig, deps: EdgeAgentDeps): Promise<EdgeAgentHandle> {
  const logger = deps.logger.child({ edgeNodeId: config.edgeNodeId });
  const metrics = agentMetrics(deps.registry);
  mkdirSync(config.dataDir, { recursive: true });
  let uplink: Uplink | undefined;
  const outbox = Outbox.open({
    path: join(config.dataDir, 'outbox.db'),
    durability: config.durability,
    policy: config.outboxPolicy,
    maxRows: config.outboxMaxRows,
    maxBytes: config.outboxMaxBytes,
    maxAgeMs: config.outboxMaxAgeMs,
    onGap: (gap: Gap) => {
      if (gap.kind === 'dropped') metrics.dropped.inc({ reason: gap.reason }, gap.count);
      else metrics.linkFramesLost.inc({ device: gap.device }, gap.count);
      logger.warn(
        { gap },
        gap.kind === 'dropped' ? 'outbox dropped readings' : 'shelf-link frames never received',
      );
      uplink?.notify();
    },
  });
  const commands = new CommandStore(outbox.db);
  // The agent_update whose trial this start is stays open until the trial ends (docs/ota.md).
  const onTrial = config.updateDir ? await commandOnTrial(config.updateDir, agentVersion) : undefined;
  const interrupted = commands.failInterrupted(onTrial);
  if (interrupted > 0) logger.warn({ interrupted }, 'commands interrupted by a restart reported failed');
  commands.prune(7 * 24 * 3600_000);
  const devices = new DeviceDirectory(outbox);
  /** Runs a storage step from an event handler: a failure is logged and counted, never thrown. */
  const guarded = (what: string, fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      metrics.internalErrors.inc({ what });
      logger.error({ err: String(error) }, `failed to ${what}`);
    }
  };
  const storeFailures = new PendingGaps((g) =>
    outbox.recordLinkGap(g.device, g.from, g.to, g.count, 'outbox write failed'),
  );
  let credential = config.credential;
  const drivers: Driver[] = [];
  const shadow = createShadow({
    db: outbox.db,
    drivers: () => drivers,
    linked: () => devices.linked(),
    report: (m) => uplink?.publishNodeLive(m),
    logger: logger.child({ module: 'shadow' }),
    registry: deps.registry,
  });
  const executor = new CommandExecutor(
    {
      maxPayloadBytes: config.maxCommandPayloadBytes,
      maxCommandBytes: config.maxCommandBytes,
      maxCommandsPerMessage: 64,
    },
    {
      store: commands,
      drivers: () => drivers,
      notify: () => uplink?.notify(),
      rebirth: () => uplink?.rebirth(),
      shadow: (command) => shadow.accept(command),
      ...(config.firmwareStore &&
      config.firmwarePublicKeys.length > 0 &&
      config.updateDir &&
      deps.requestRestart
        ? {
            agentUpdate: agentUpdateRunner(
              {
                storeUrl: config.firmwareStore,
                publicKeyFiles: config.firmwarePublicKeys,
                dataDir: config.dataDir,
                updateDir: config.updateDir,
              },
              deps.requestRestart,
              logger.child({ module: 'ota' }),
            ),
          }
        : {}),
      logger: logger.child({ module: 'commands' }),
      metrics,
    },
  );
  /** Links that cannot be opened, with why: reported upward as the NBIRTH/NDATA `links/*` health. */
  const linkFaults = new Map<string, string>();
  uplink = new Uplink(
    {
      brokerUrl: config.brokerUrl,
      groupId: config.groupId,
      edgeNodeId: config.edgeNodeId,
      primaryHostId: config.waitForHost ? config.primaryHostId : undefined,
      // The broker accepts an edge node only under its own id as client id [MQTT-3.1.4-2].
      clientId: config.edgeNodeId,
      keepaliveSeconds: config.keepaliveSeconds,
      connectTimeoutMs: 10_000,
      maxInFlight: config.maxInFlight,
      maxReadingsPerMessage: config.maxReadingsPerMessage,
      reconnectInitialDelayMs: config.reconnectInitialDelayMs,
      reconnectMaxDelayMs: config.reconnectMaxDelayMs,
      healthIntervalMs: config.healthIntervalMs,
      agentVersion,
      ca: config.mqttCaFile ? readFileSync(config.mqttCaFile) : undefined,
      credentials: () => ({
        username: config.mqttUsername ?? (credential ? config.edgeNodeId : undefined),
        password: credential,
      }),
    },
    {
      outbox,
      commands,
      devices,
      linkFaults: () => linkFaults,
      nodeMetrics: () => shadow.metrics(),
      logger: logger.child({ module: 'uplink' }),
      metrics,
      onCommand: (topic, payload) => guarded('handle a command', () => executor.handle(topic, payload)),
    },
  );
  const up = uplink;
  const sink: DriverSink & { deviceMetrics: (device: string, metrics: Metric[]) => void } = {
    deviceOnline(info) {
      devices.online(info);
      logger.info({ device: info.name, firmware: info.firmware, bins: info.binCount }, 'device online');
      up.deviceChanged(info.name);
      shadow.deviceOnline(info.name);
    },
    deviceOffline(name) {
      devices.offline(name);
      shadow.deviceOffline(name);
      logger.info({ device: name }, 'device offline');
      up.notify();
    },
    readings(device, readings, linkSeq, firstLinkSeq, replay) {
      try {
        const r = outbox.append(device, readings, linkSeq, replay);
        if (r) metrics.readingsStored.inc(readings.length);
        storeFailures.flush();
        up.notify();
        return true;
      } catch (error) {
        // The disk is full or failing: these readings are lost. Never crash the agent over it;
        // count it, and record the loss as a gap as soon as the outbox can take writes again.
        metrics.storeErrors.inc(readings.length);
        logger.error({ err: String(error), device, readings: readings.length }, 'outbox write failed');
        storeFailures.add(device, firstLinkSeq ?? linkSeq ?? 0, linkSeq ?? 0, readings.length);
        up.notify();
        return false;
      }
    },
    linkGap(device, from, to, count, reason) {
      guarded('record a link gap', () => outbox.recordLinkGap(device, from, to, count, reason));
    },
    replayPosition: (device) => outbox.device(device)?.replay ?? null,
    duplicateReadings: (device, count) => metrics.linkDuplicates.inc({ device }, count),
    deviceMetrics(device, metrics) {
      devices.setMetrics(device, metrics);
      up.publishLive(device, metrics);
    },
    linkSeen: (device, linkSeq) =>
      guarded('remember the link sequence', () => outbox.setLinkSeq(device, linkSeq)),
    lastLinkSeq: (device) => outbox.device(device)?.linkSeq ?? null,
    badFrame: (reason) => metrics.badFrames.inc({ reason }),
    linkState: (link, isUp, openError) => {
      metrics.linkState.set({ link }, isUp ? 1 : 0);
      if (openError !== undefined) metrics.linkOpenFailures.inc({ link });
      const known = linkFaults.get(link);
      if (isUp) linkFaults.delete(link);
      else if (openError !== undefined) linkFaults.set(link, openError);
      // Tell the cloud now, not at the next periodic health report.
      if (known !== linkFaults.get(link)) up.healthChanged();
    },
  };
  const firmware =
    config.firmwareStore && config.firmwarePublicKeys.length > 0
      ? shelfFirmwareRunner(
          {
            storeUrl: config.firmwareStore,
            publicKeyFiles: config.firmwarePublicKeys,
            dataDir: config.dataDir,
          },
          logger.child({ module: 'ota' }),
        )
      : undefined;
  for (const path of config.serialPorts) {
    drivers.push(
      new ShelfLinkDriver(
        { path, baudRate: config.baudRate },
        sink,
        logger.child({ module: 'shelf-link', path }),
        firmware,
      ),
    );
  }
  if (config.firmataPort) {
    drivers.push(
      new FirmataDriver(
        {
          path: config.firmataPort,
          baudRate: 57_600,
          inputs: config.firmataInputs,
          outputs: config.firmataOutputs,
          deviceName: `board-${config.edgeNodeId}`,
        },
        sink,
        logger.child({ module: 'firmata' }),
      ),
    );
  }

  const status = (): EdgeAgentStatus => {
    const st = outbox.stats();
    return {
      version: agentVersion,
      edgeNodeId: config.edgeNodeId,
      uplink: up.status(),
      links: drivers.map((d) => d.status()),
      outbox: {
        ...st,
        oldestUnsentAgeMs: st.oldestTimeMs === null ? null : Math.max(0, Date.now() - st.oldestTimeMs),
      },
    };
  };
  const gauges = setInterval(() => {
    const st = outbox.stats();
    metrics.outboxDepth.set(st.depth);
    metrics.outboxBytes.set(st.bytes);
    metrics.outboxOldestAge.set(
      st.oldestTimeMs === null ? 0 : Math.max(0, Date.now() - st.oldestTimeMs) / 1000,
    );
  }, 1000);
  gauges.unref();
  const ageTimer = setInterval(() => guarded('enforce the max age', () => outbox.enforceAge()), 10_000);
  ageTimer.unref();

  let ops: OpsServer | undefined;
  if (config.opsPort >= 0) {
    ops = await startOpsServer({
      host: config.opsHost,
      port: config.opsPort,
      registry: deps.registry,
      health: () => {
        const s = status();
        // Healthy = the process works and can store; being offline from the broker is a state
        // the agent is built for, reported in the checks, not a failure of the agent.
        return { ok: true, checks: { ...s, host: hostname() } };
      },
    });
    logger.info({ url: ops.url }, 'ops server listening');
  }
  // A rollback just put this version back: the failed update's command is answered from here.
  if (config.updateDir) await reportAgentUpdate(config.updateDir, commands, logger.child({ module: 'ota' }));
  for (const d of drivers) d.start();
  up.start();
  logger.info(
    { broker: config.brokerUrl, ports: config.serialPorts, durability: config.durability },
    'edge agent started',
  );

  let closed: Promise<void> | undefined;
  return {
    status,
    opsUrl: ops?.url,
    setCredential(next) {
      credential = next;
    },
    async reportAgentUpdate() {
      if (!config.updateDir) return;
      if (await reportAgentUpdate(config.updateDir, commands, logger.child({ module: 'ota' }))) up.notify();
    },
    close() {
      closed ??= (async () => {
        clearInterval(gauges);
        clearInterval(ageTimer);
        await Promise.all(drivers.map((d) => d.close()));
        await executor.idle();
        await up.close();
        await ops?.close();
        outbox.close();
        logger.info('edge agent stopped');
      })();
      return closed;
    },
  };
}
