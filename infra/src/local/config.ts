import { type ConfigOf, setting } from '@bitv/shared/config';

/**
 * Settings of the one-process platform (`npm start`). Each component also has its own settings
 * (see its `--help`); these are the ones the launcher decides for the embedded run.
 */
export const platformConfigSpec = {
  runDir: setting.string('BV_RUN_DIR', {
    default: '.run/platform',
    description: 'Folder for the embedded database, the edge outbox, the shelves’ serial links and logs',
  }),
  host: setting.string('BV_HOST', { default: '127.0.0.1', description: 'Address every listener binds to' }),
  httpPort: setting.int('BV_HTTP_PORT', {
    default: '8080',
    min: 0,
    max: 65535,
    description: 'Cloud API and dashboard port (0 picks a free one)',
  }),
  mqttPort: setting.int('BV_GATEWAY_MQTT_PORT', {
    default: '1884',
    min: 0,
    max: 65535,
    description: 'Gateway MQTT port (never 1883, which Mosquitto has)',
  }),
  wsPort: setting.int('BV_GATEWAY_WS_PORT', {
    default: '8083',
    min: -1,
    max: 65535,
    description: 'Gateway MQTT-over-WebSocket port (-1 disables it)',
  }),
  simControlPort: setting.int('BV_SIM_CONTROL_PORT', {
    default: '8090',
    min: 0,
    max: 65535,
    description: 'Simulator control API port (pick and restock items by HTTP)',
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
  databaseUrl: setting.optionalUrl('DATABASE_URL', {
    description: 'PostgreSQL instead of the embedded PGlite database',
  }),
  kafkaBrokers: setting.optionalList('KAFKA_BROKERS', {
    description: 'Kafka instead of the event log in the database (host:port,...)',
  }),
  adminEmail: setting.string('BV_ADMIN_EMAIL', {
    default: 'admin@demo.local',
    description: 'The first administrator, created on the first start',
  }),
  adminPassword: setting.optionalString('BV_ADMIN_PASSWORD', {
    description: 'Its password; when unset one is generated and printed once',
    secret: true,
  }),
  logLevel: setting.enum('BV_LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error'] as const, {
    default: 'info',
    description: 'Level of the structured log written to <run dir>/platform.log',
  }),
};

export type PlatformConfig = ConfigOf<typeof platformConfigSpec>;
