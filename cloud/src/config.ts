import { type ConfigOf, setting } from '@bitv/shared';
import { defaultHost, defaultPorts, defaultProvisionedBrokerUrl } from '@bitv/shared/config';
import type { AlarmSettings } from './alarms/settings.js';
import type { LoginThrottleSettings } from './auth/login-throttle.js';
import type { CatalogModuleSettings } from './catalog/module.js';
import type { ChatSettings } from './chat/settings.js';
import type { CheckoutBoundary } from './checkout/saga.js';
import type { FeedModuleSettings } from './feed/module.js';
import type { FlashSaleSettings } from './flash-sales/module.js';
import { moduleCatalog } from './modules.js';
import type { OrdersSettings } from './orders/module.js';
import type { PaymentSettings } from './payments/settings.js';
import type { WebhookSettings } from './webhooks/settings.js';

/** Everything the cloud process reads from its environment (only `cli.ts` calls `loadConfig`). */
export const cloudConfigSpec = {
  host: setting.string('BV_HTTP_HOST', {
    default: defaultHost,
    description: 'address the HTTP API, dashboard and WebSocket listen on',
  }),
  port: setting.int('BV_HTTP_PORT', {
    default: String(defaultPorts.cloudHttp),
    min: 0,
    max: 65535,
    description: 'HTTP port (0 picks a free one)',
  }),
  grpcPort: setting.int('BV_GRPC_PORT', {
    default: String(defaultPorts.cloudGrpc),
    min: -1,
    max: 65535,
    description: 'gRPC InventoryService port (0 picks a free one, -1 turns it off)',
  }),
  databaseUrl: setting.optionalUrl('DATABASE_URL', {
    description: 'PostgreSQL URL; unset runs embedded PGlite',
  }),
  dataDir: setting.optionalString('BV_DATA_DIR', {
    description: 'PGlite data folder when DATABASE_URL is unset; unset keeps data in memory',
  }),
  kafkaBrokers: setting.optionalList('KAFKA_BROKERS', {
    description: 'Kafka brokers (host:port,...); unset uses the database event log',
  }),
  redisUrl: setting.optionalUrl('REDIS_URL', {
    description:
      'Redis for the modules’ cache (shared by every instance, invalidated across them); unset keeps an in-process cache',
  }),
  issuer: setting.string('BV_JWT_ISSUER', {
    default: 'bitvelocity',
    description: 'issuer of every JWT the registry signs',
  }),
  signingAlg: setting.enum('BV_JWT_ALG', ['ES256', 'EdDSA'], {
    default: 'ES256',
    description: 'algorithm of a generated signing key',
  }),
  keyFile: setting.optionalString('BV_JWT_KEY_FILE', {
    description: 'private signing key as a JWK file; unset generates one and stores it in the database',
  }),
  accessTtlSeconds: setting.int('BV_ACCESS_TTL_SECONDS', {
    default: '900',
    min: 30,
    description: 'lifetime of user access tokens',
  }),
  refreshTtlSeconds: setting.int('BV_REFRESH_TTL_SECONDS', {
    default: '2592000',
    min: 60,
    description: 'lifetime of refresh tokens',
  }),
  deviceTtlSeconds: setting.int('BV_DEVICE_TTL_SECONDS', {
    default: '7776000',
    min: 60,
    description: 'lifetime of gateway credentials',
  }),
  brokerUrl: setting.string('BV_BROKER_URL', {
    default: defaultProvisionedBrokerUrl,
    description:
      'MQTT broker URL handed to provisioned gateways (default: the gateway’s TLS listener, BV_GATEWAY_TLS_PORT)',
  }),
  primaryHostId: setting.string('BV_PRIMARY_HOST_ID', {
    default: 'bv-cloud',
    description: 'Sparkplug primary host id handed to gateways',
  }),
  stableWindowMs: setting.int('BV_STABLE_WINDOW_MS', {
    default: '400',
    min: 0,
    max: 60_000,
    description:
      'how long a bin weight must stay settled (within tolerance, no trend, little scatter, at least 5 readings) before it counts',
  }),
  adminEmail: setting.string('BV_ADMIN_EMAIL', {
    default: 'admin@bitvelocity.local',
    description: 'first admin, created when there are no users',
  }),
  adminPassword: setting.optionalString('BV_ADMIN_PASSWORD', {
    secret: true,
    description: 'first admin password; unset generates one and prints it once',
  }),
  demo: setting.boolean('BV_DEMO', {
    default: 'false',
    description: 'seed a demo site (for a cloud started on its own)',
  }),
  loginFreeFailures: setting.int('BV_LOGIN_FREE_FAILURES', {
    default: '5',
    min: 1,
    description: 'wrong passwords in a row an account may have before logins to it are locked',
  }),
  loginAddressFreeFailures: setting.int('BV_LOGIN_ADDRESS_FREE_FAILURES', {
    default: '20',
    min: 1,
    description: 'wrong passwords one client address may have (any accounts) before its logins are locked',
  }),
  loginLockoutSeconds: setting.int('BV_LOGIN_LOCKOUT_SECONDS', {
    default: '15',
    min: 1,
    description: 'first login lockout (answered 429 with Retry-After); each further failure doubles it',
  }),
  loginMaxLockoutSeconds: setting.int('BV_LOGIN_MAX_LOCKOUT_SECONDS', {
    default: '900',
    min: 1,
    description: 'longest login lockout',
  }),
  trustProxy: setting.boolean('BV_TRUST_PROXY', {
    default: 'false',
    description:
      'behind our own reverse proxy: the client address (for login throttling) is the last X-Forwarded-For entry',
  }),
  modules: setting.list('BV_CLOUD_MODULES', {
    default: 'all',
    description: `cloud modules this process mounts, a comma list or "all" (${moduleCatalog.map((m) => m.name).join(', ')}); a module's needs must be in the list`,
  }),
  feedFanoutThreshold: setting.int('BV_FEED_FANOUT_THRESHOLD', {
    default: '1000',
    min: 0,
    description:
      'a post whose audience (followers of its author and of the products it names) is larger is merged into feeds on read instead of copied on write',
  }),
  feedMergeWindowDays: setting.int('BV_FEED_MERGE_WINDOW_DAYS', {
    default: '30',
    min: 1,
    description: 'how far back merge on read looks for posts of followed authors above the fan-out threshold',
  }),
  feedHeartbeatMs: setting.int('BV_FEED_HEARTBEAT_MS', {
    default: '15000',
    min: 100,
    description:
      'SSE heartbeat (a comment line) of the home-feed stream; a vanished client is removed within one',
  }),
  feedClientBuffer: setting.int('BV_FEED_CLIENT_BUFFER', {
    default: '256',
    min: 1,
    description:
      'home-feed SSE events queued for one slow client before it is dropped (it resumes with Last-Event-ID)',
  }),
  flashTickMs: setting.int('BV_FLASH_TICK_MS', {
    default: '1000',
    min: 100,
    description:
      'how often a flash sale’s stream sends its countdown and remaining quantity (stock changes are sent at once)',
  }),
  flashHeartbeatMs: setting.int('BV_FLASH_HEARTBEAT_MS', {
    default: '15000',
    min: 100,
    description: 'SSE heartbeat of the flash-sale streams',
  }),
  flashMaxClients: setting.int('BV_FLASH_MAX_CLIENTS', {
    default: '20000',
    min: 1,
    description: 'flash-sale SSE clients one process takes (public streams); more are answered 503',
  }),
  ordersHoldSeconds: setting.int('BV_ORDERS_HOLD_SECONDS', {
    default: '900',
    min: 1,
    description:
      "how long a hold of an unfinished checkout lives before inventory lapses it (a confirmed order's holds never lapse)",
  }),
  ordersResumeEveryMs: setting.int('BV_ORDERS_RESUME_EVERY_MS', {
    default: '2000',
    min: 10,
    description: 'how often unfinished checkouts of a dead process are looked for',
  }),
  checkoutLeaseMs: setting.int('BV_CHECKOUT_LEASE_MS', {
    default: '15000',
    min: 100,
    description:
      'how long a process owns a checkout it drives; another takes it over after a crash once it lapses',
  }),
  checkoutConcurrency: setting.int('BV_CHECKOUT_CONCURRENCY', {
    default: '8',
    min: 1,
    max: 1000,
    description: 'checkouts one process drives at once',
  }),
  ordersPlaceMaxBatch: setting.int('BV_ORDERS_PLACE_MAX_BATCH', {
    default: '200',
    min: 1,
    max: 5000,
    description: 'placements written together in one transaction at most (group commit)',
  }),
  ordersPlaceInFlight: setting.int('BV_ORDERS_PLACE_IN_FLIGHT', {
    default: '2',
    min: 1,
    max: 64,
    description: 'group transactions of placements open at once',
  }),
  catalogProductTtlMs: setting.int('BV_CATALOG_PRODUCT_TTL_MS', {
    default: '300000',
    min: 1,
    description: 'cache lifetime of a product read (changes invalidate it on every instance sooner)',
  }),
  catalogStockTtlMs: setting.int('BV_CATALOG_STOCK_TTL_MS', {
    default: '10000',
    min: 1,
    description: "cache lifetime of a product's availability (stock changes invalidate it sooner)",
  }),
  catalogWarmCount: setting.int('BV_CATALOG_WARM_COUNT', {
    default: '200',
    min: 0,
    description: 'most-read products loaded into the cache at start (0: none)',
  }),
  catalogReadCountFlushMs: setting.int('BV_CATALOG_READ_COUNT_FLUSH_MS', {
    default: '30000',
    min: 100,
    description: 'how often the product read counts (which choose what to warm) are written',
  }),
  firmwareStore: setting.optionalString('BV_FIRMWARE_STORE', {
    description:
      'the firmware store agents fetch releases from (file:///dir or s3+http(s)://KEY:SECRET@host/bucket); set: a rollout of a release not in it is refused',
    secret: true,
  }),
  logLevel: setting.enum('BV_LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
    description: 'log level',
  }),
};

export type CloudEnvConfig = ConfigOf<typeof cloudConfigSpec>;

/** What `startCloud` needs; the launcher builds it directly, the CLI from the environment. */
export interface CloudConfig {
  host: string;
  port: number;
  /** undefined or -1: no gRPC server. */
  grpcPort?: number;
  issuer: string;
  signingAlg: 'ES256' | 'EdDSA';
  keyFile?: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  deviceTtlSeconds: number;
  brokerUrl: string;
  primaryHostId: string;
  stableWindowMs: number;
  /**
   * Consumer groups are `<prefix>.inventory`, `<prefix>.device-state`, `<prefix>.commands`; a new
   * group starts at the oldest event (`fromBeginning`) or only at new ones (tests on a shared Kafka).
   */
  consumers?: { groupPrefix: string; fromBeginning: boolean };
  /** The first admin, created when the database has no users; without a password one is generated. */
  admin?: { email: string; password?: string };
  /** Login throttling (defaults in `loginThrottleDefaults`). */
  loginThrottle?: Partial<LoginThrottleSettings>;
  /** Take the client address from X-Forwarded-For (only behind our own proxy). */
  trustProxy?: boolean;
  /** The modules' cache in Redis; unset: in-process (ignored when the caller passes a cache). */
  redisUrl?: string;
  /** The modules to mount (`modules.ts` catalog); default all. */
  modules?: 'all' | readonly string[];
  /** Webhook delivery settings (`webhookSettingsSpec`: `AMQP_URL`, `BV_WEBHOOKS_*`); unset ones take the defaults. */
  webhooks?: Partial<WebhookSettings>;
  /** Alarm rule defaults for every site (`alarmSettingsSpec`); unset ones take its defaults. */
  alarms?: Partial<AlarmSettings>;
  /** Chat settings (`chatSettingsSpec`, `BV_CHAT_*`); unset ones take `chatDefaults`. */
  chat?: Partial<ChatSettings>;
  /** Feed settings (`feedModuleDefaults`); unset ones take the defaults. */
  feed?: Partial<FeedModuleSettings>;
  /** Flash-sale settings (`flashSaleDefaults`); unset ones take the defaults. */
  flashSales?: Partial<FlashSaleSettings>;
  /** Orders and checkout settings; unset ones take `ordersDefaults`. */
  orders?: Partial<OrdersSettings>;
  /** Payments (`paymentSettingsSpec`: `BV_BANK_*`, `BV_REST_PAY_*`, `BV_PAYMENTS_*`); unset ones take `paymentDefaults`. */
  payments?: Partial<PaymentSettings>;
  /** Catalog cache settings; unset ones take `catalogDefaults`. */
  catalog?: Partial<CatalogModuleSettings>;
  /** The firmware store's URL: rollouts check their release is in it (unset: no check). */
  firmwareStore?: string;
  /**
   * Sees each checkout step boundary (no environment form): the crash test's child process, a
   * whole cloud, kills itself at a chosen one.
   */
  checkoutBoundary?: (boundary: CheckoutBoundary) => void | Promise<void>;
}

export const cloudDefaults: CloudConfig = {
  host: defaultHost,
  port: 0,
  issuer: 'bitvelocity',
  signingAlg: 'ES256',
  accessTtlSeconds: 900,
  refreshTtlSeconds: 30 * 86_400,
  deviceTtlSeconds: 90 * 86_400,
  brokerUrl: defaultProvisionedBrokerUrl,
  primaryHostId: 'bv-cloud',
  stableWindowMs: 400,
};

/** The catalog's and orders' settings as the environment gives them (`BV_CATALOG_*`, `BV_ORDERS_*`, `BV_CHECKOUT_*`). */
export function commerceSettingsOf(env: CloudEnvConfig): {
  orders: OrdersSettings;
  catalog: CatalogModuleSettings;
} {
  return {
    orders: {
      holdSeconds: env.ordersHoldSeconds,
      resumeEveryMs: env.ordersResumeEveryMs,
      checkoutLeaseMs: env.checkoutLeaseMs,
      checkoutConcurrency: env.checkoutConcurrency,
      placeMaxBatch: env.ordersPlaceMaxBatch,
      placeInFlight: env.ordersPlaceInFlight,
    },
    catalog: {
      productTtlMs: env.catalogProductTtlMs,
      stockTtlMs: env.catalogStockTtlMs,
      warmCount: env.catalogWarmCount,
      readCountFlushMs: env.catalogReadCountFlushMs,
    },
  };
}
