import type { Cache } from '@bitv/shared/cache';
import type { Database } from '@bitv/shared/db';
import type { EventLog } from '@bitv/shared/event-log';
import type { EventStore } from '@bitv/shared/event-store';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { CoreServices } from './api/services.js';
import { ApiKeys } from './auth/api-keys.js';
import { loadKeyStore } from './auth/keys.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { Tokens } from './auth/tokens.js';
import { Users } from './auth/users.js';
import type { CloudConfig } from './config.js';
import { cloudDb, migrateCloud } from './db/index.js';
import { LiveHub } from './live/hub.js';

export interface ServiceDeps {
  database: Database;
  eventLog: EventLog;
  logger: Logger;
  registry: MetricsRegistry;
  /** The event store of the modules; unset: the cloud opens one in `database` and closes it. */
  eventStore?: EventStore;
  /** The modules' cache; unset: the cloud opens one (`redisUrl`, else in-process) and closes it. */
  cache?: Cache;
}

/**
 * Migrates the database and builds what every cloud process has, whatever modules it mounts:
 * signing keys, users, tokens, API keys, the login throttle and the live hub. No listener here.
 */
export async function createCoreServices(config: CloudConfig, deps: ServiceDeps): Promise<CoreServices> {
  await migrateCloud(deps.database);
  const db = cloudDb(deps.database);
  const keys = await loadKeyStore(db, { keyFile: config.keyFile, alg: config.signingAlg });
  const tokens = new Tokens(keys, {
    issuer: config.issuer,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
    deviceTtlSeconds: config.deviceTtlSeconds,
  });
  return {
    database: deps.database,
    db,
    eventLog: deps.eventLog,
    logger: deps.logger,
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
    hub: new LiveHub(
      counter(deps.registry, 'bv_cloud_live_messages_total', 'Live messages sent to WebSocket clients', [
        'type',
      ]),
    ),
  };
}
