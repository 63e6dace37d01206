import type { Database } from '@bitv/shared/db';
import type { EventLog } from '@bitv/shared/event-log';
import type { Logger } from '@bitv/shared/log';
import type { Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { ApiKeys } from '../auth/api-keys.js';
import type { KeyStore } from '../auth/keys.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { Tokens } from '../auth/tokens.js';
import type { Users } from '../auth/users.js';
import type { Commands } from '../commands/commands.js';
import type { CloudDb } from '../db/index.js';
import type { Counting } from '../inventory/counting.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Reservations } from '../inventory/reservations.js';
import type { LiveHub } from '../live/hub.js';
import type { DeviceMetrics } from '../registry/device-metrics.js';
import type { Provisioning } from '../registry/provisioning.js';
import type { Registry } from '../registry/registry.js';
import type { TelemetryGaps } from '../registry/telemetry-gaps.js';

/** What every cloud process has whatever modules it mounts: ports, auth, the live hub. */
export interface CoreServices {
  database: Database;
  db: CloudDb;
  eventLog: EventLog;
  logger: Logger;
  metrics: MetricsRegistry;
  keys: KeyStore;
  tokens: Tokens;
  users: Users;
  loginThrottle: LoginThrottle;
  /** Client addresses come from X-Forwarded-For (set by our own reverse proxy). */
  trustProxy: boolean;
  apiKeys: ApiKeys;
  hub: LiveHub;
}

/** The service objects of the registry, inventory and commands modules (`CloudModule.services`). */
export interface DomainServices {
  registry: Registry;
  /** Readings the edge reported lost (bv.telemetry.gap.v1). */
  gaps: TelemetryGaps;
  /** Generic metrics of any Sparkplug edge node or device (bv.telemetry.metrics.v1). */
  deviceMetrics: DeviceMetrics;
  provisioning: Provisioning;
  commands: Commands;
  inventory: Inventory;
  reservations: Reservations;
  counting: Counting;
}

/**
 * Everything `CloudHandle.services` reaches (the launcher, the demo seed, tests). A domain field
 * of a module this process did not mount throws on access, saying which module it needs.
 */
export type Services = CoreServices & DomainServices;
