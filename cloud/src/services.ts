import type { Database } from '@bitv/shared/db';
import type { EventLog } from '@bitv/shared/event-log';
import type { Logger } from '@bitv/shared/log';
import { counter, histogram, type Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { Services } from './api/services.js';
import { ApiKeys } from './auth/api-keys.js';
import { loadKeyStore } from './auth/keys.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { Tokens } from './auth/tokens.js';
import { Users } from './auth/users.js';
import { Commands } from './commands/commands.js';
import type { CloudConfig } from './config.js';
import { cloudDb, migrateCloud } from './db/index.js';
import { BinHealthMonitor } from './inventory/bin-health.js';
import { Counting } from './inventory/counting.js';
import { Inventory } from './inventory/inventory.js';
import { Reservations } from './inventory/reservations.js';
import { LiveHub } from './live/hub.js';
import { DeviceMetrics } from './registry/device-metrics.js';
import { Provisioning } from './registry/provisioning.js';
import { Registry } from './registry/registry.js';
import { TelemetryGaps } from './registry/telemetry-gaps.js';

export interface ServiceDeps {
  database: Database;
  eventLog: EventLog;
  logger: Logger;
  registry: MetricsRegistry;
}

/** Migrates the database and builds every service; no network listener is opened here. */
export async function createServices(config: CloudConfig, deps: ServiceDeps): Promise<Services> {
  await migrateCloud(deps.database);
  const db = cloudDb(deps.database);
  const keys = await loadKeyStore(db, { keyFile: config.keyFile, alg: config.signingAlg });
  const tokens = new Tokens(keys, {
    issuer: config.issuer,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
    deviceTtlSeconds: config.deviceTtlSeconds,
  });
  const hub = new LiveHub(
    counter(deps.registry, 'bv_cloud_live_messages_total', 'Live messages sent to WebSocket clients', [
      'type',
    ]),
  );
  const logger = deps.logger;
  const counting = new Counting(
    db,
    hub,
    deps.eventLog,
    logger,
    {
      readings: counter(deps.registry, 'bv_cloud_readings_total', 'Shelf readings by outcome', ['outcome']),
      changes: counter(deps.registry, 'bv_cloud_stock_changes_total', 'Stock count changes by reason', [
        'reason',
      ]),
      applySeconds: histogram(
        deps.registry,
        'bv_cloud_telemetry_apply_seconds',
        'Time to apply one telemetry batch',
      ),
    },
    new BinHealthMonitor(
      db,
      hub,
      deps.eventLog,
      logger,
      counter(deps.registry, 'bv_cloud_hardware_alerts_total', 'Hardware alerts opened, by kind', ['kind']),
    ),
    { stability: { windowMs: config.stableWindowMs } },
  );
  return {
    database: deps.database,
    db,
    eventLog: deps.eventLog,
    logger,
    metrics: deps.registry,
    keys,
    tokens,
    users: new Users(db, tokens),
    loginThrottle: new LoginThrottle(
      config.loginThrottle ?? {},
      counter(deps.registry, 'bv_cloud_login_throttled_total', 'Login attempts refused by the throttle', [
        'by',
      ]),
    ),
    trustProxy: config.trustProxy ?? false,
    apiKeys: new ApiKeys(db),
    registry: new Registry(db),
    gaps: new TelemetryGaps(
      db,
      counter(
        deps.registry,
        'bv_cloud_edge_readings_lost_total',
        'Readings edge agents reported lost, by kind',
        ['kind'],
      ),
      logger,
    ),
    deviceMetrics: new DeviceMetrics(db, logger),
    provisioning: new Provisioning(
      db,
      tokens,
      deps.eventLog,
      { brokerUrl: config.brokerUrl, primaryHostId: config.primaryHostId },
      logger,
    ),
    commands: new Commands(db, deps.eventLog, hub, logger),
    inventory: new Inventory(db, hub, deps.eventLog, counting, logger),
    reservations: new Reservations(db, deps.eventLog),
    counting,
    hub,
  };
}
