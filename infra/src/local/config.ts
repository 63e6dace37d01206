import { webhookSettingsSpec } from '@bitv/cloud';
import { gatewayConfigSpec } from '@bitv/gateway';
import { type ConfigOf, defaultHost, defaultPorts, type Setting, setting } from '@bitv/shared/config';
import { z } from 'zod';

/**
 * Settings of the one-process platform (`npm start`). Each component also has its own settings
 * (see its `--help`); these are the ones the launcher decides for the embedded run.
 */
export const platformConfigSpec = {
  runDir: setting.string('BV_RUN_DIR', {
    default: '.run/platform',
    description: 'Folder for the embedded database, the edge outbox, the shelves’ serial links and logs',
  }),
  host: setting.string('BV_HOST', { default: defaultHost, description: 'Address every listener binds to' }),
  httpPort: setting.int('BV_HTTP_PORT', {
    default: String(defaultPorts.cloudHttp),
    min: 0,
    max: 65535,
    description: 'Cloud API and dashboard port (0 picks a free one)',
  }),
  grpcPort: setting.int('BV_GRPC_PORT', {
    default: String(defaultPorts.cloudGrpc),
    min: -1,
    max: 65535,
    description: 'Cloud gRPC InventoryService port (0 picks a free one, -1 turns it off)',
  }),
  mqttPort: setting.int('BV_GATEWAY_MQTT_PORT', {
    default: String(defaultPorts.gatewayMqtt),
    min: 0,
    max: 65535,
    description: 'Gateway MQTT port (never 1883, which Mosquitto has)',
  }),
  wsPort: setting.int('BV_GATEWAY_WS_PORT', {
    default: String(defaultPorts.gatewayWs),
    min: -1,
    max: 65535,
    description: 'Gateway MQTT-over-WebSocket port (-1 disables it)',
  }),
  simControlPort: setting.int('BV_SIM_CONTROL_PORT', {
    default: String(defaultPorts.simControl),
    min: 0,
    max: 65535,
    description: 'Simulator control API port (pick and restock items by HTTP)',
  }),
  bankPort: setting.int('BV_BANK_PORT', {
    default: '8091',
    min: -1,
    max: 65535,
    description: 'the embedded legacy SOAP bank (SOAP at /bank, WSDL at /bank?wsdl; -1: not started)',
  }),
  restPayPort: setting.int('BV_REST_PAY_PORT', {
    default: '8092',
    min: -1,
    max: 65535,
    description: 'the embedded rest-pay payment service (-1: not started)',
  }),
  // The same variables (and defaults) the cloud's payments module reads, so both ends agree.
  bankSecret: setting.string('BV_BANK_SECRET', {
    default: 'bank-secret',
    secret: true,
    description: 'HMAC secret the embedded bank signs its notifications with',
  }),
  restPaySecret: setting.string('BV_REST_PAY_SECRET', {
    default: 'rest-pay-secret',
    secret: true,
    description: 'HMAC secret the embedded rest-pay signs its webhooks with',
  }),
  shelves: setting.int('BV_DEMO_SHELVES', {
    default: '3',
    min: 1,
    max: 64,
    description: 'Simulated shelves',
  }),
  bins: setting.int('BV_DEMO_BINS', {
    default: '6',
    min: 1,
    max: 24,
    description: 'Bins per simulated shelf',
  }),
  seed: setting.int('BV_SIM_SEED', {
    default: '42',
    description: 'Seed of the simulated shelves’ contents and noise',
  }),
  demoShopper: setting.boolean('BV_DEMO_SHOPPER', {
    default: 'true',
    description:
      'A demo shopper orders a few products now and then through the orders API (false: no orders)',
  }),
  demoShopperEverySeconds: setting.int('BV_DEMO_SHOPPER_EVERY_S', {
    default: '45',
    min: 1,
    max: 86_400,
    description: "Mean seconds between the demo shopper's orders",
  }),
  pickerErrorRate: setting.number('BV_DEMO_PICKER_ERROR_RATE', {
    default: '0.05',
    description:
      "Share of the simulated picker's picks that go wrong (neighbouring bin, one unit short), 0 to 1",
  }),
  pickerWrongPicks: {
    env: 'BV_DEMO_PICKER_WRONG_PICKS',
    // Pick numbers (1-based, comma-separated) that go to the neighbouring bin on purpose.
    schema: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
          .map(Number),
      )
      .pipe(z.array(z.number().int().min(1))),
    default: '',
    description:
      "The simulated picker's picks (1-based numbers, comma-separated) that take from the neighbouring bin on purpose: a scripted mis-pick",
    secret: false,
  } satisfies Setting<number[]>,
  pickerPutBackMs: setting.int('BV_DEMO_PICKER_PUT_BACK_MS', {
    default: '0',
    min: 0,
    max: 600_000,
    description: 'How long the simulated picker leaves a bin lit red before putting back what it took (ms)',
  }),
  databaseUrl: setting.optionalUrl('DATABASE_URL', {
    description: 'PostgreSQL instead of the embedded PGlite database',
  }),
  kafkaBrokers: setting.optionalList('KAFKA_BROKERS', {
    description: 'Kafka instead of the event log in the database (host:port,...)',
  }),
  redisUrl: setting.optionalUrl('REDIS_URL', {
    description:
      'The gateway joins a broker cluster on this Redis (as bitv-gateway does) instead of running alone',
  }),
  // The gateway's own settings for its cluster, read under the same names as `bitv-gateway` reads them.
  redisPrefix: gatewayConfigSpec.redisPrefix,
  adminEmail: setting.string('BV_ADMIN_EMAIL', {
    default: 'admin@demo.local',
    description: 'The first administrator, created on the first start',
  }),
  adminPassword: setting.optionalString('BV_ADMIN_PASSWORD', {
    description: 'Its password; when unset one is generated and printed once',
    secret: true,
  }),
  // The cloud's webhook settings, under the names `bitv-cloud` reads them (docs/webhooks.md).
  amqpUrl: webhookSettingsSpec.amqpUrl,
  webhooksAllowPrivate: webhookSettingsSpec.allowPrivate,
  webhooksSchedule: webhookSettingsSpec.schedule,
  logLevel: setting.logLevel({
    default: 'info',
    description: 'Level of the structured log written to <run dir>/platform.log',
  }),
};

export type PlatformConfig = ConfigOf<typeof platformConfigSpec>;
