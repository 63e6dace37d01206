import { describeConfig, loadConfig } from '@bitv/shared';
import { runCli } from '@bitv/shared/cli';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import pkg from '../package.json' with { type: 'json' };
import { alarmSettingsSpec } from './alarms/settings.js';
import { chatSettingsOf, chatSettingsSpec } from './chat/settings.js';
import { startCloud } from './cloud.js';
import { cloudConfigSpec, commerceSettingsOf } from './config.js';
import { ModuleSelectionError, moduleCatalog, resolveModules } from './modules.js';
import { paymentSettingsSpec } from './payments/settings.js';
import { parseSchedule, webhookSettingsSpec } from './webhooks/settings.js';

// the widest module name sets the column, so a long name never runs into its description
const nameWidth = Math.max(...moduleCatalog.map((m) => m.name.length)) + 2;
const moduleList = moduleCatalog
  .map(
    (m) =>
      `  ${m.name.padEnd(nameWidth)}${m.description}${m.needs.length ? ` (needs ${m.needs.join(', ')})` : ''}`,
  )
  .join('\n');

const usage = `bitv-cloud: registry, provisioning, inventory, REST/WebSocket/gRPC API and the dashboard

Usage: npm start -w cloud -- [--help] [--version]      (or: npx tsx cloud/src/cli.ts)

Exit status: 2 for bad configuration or arguments, 1 when it cannot start (a port in use, a
database that does not answer), each with one line on stderr.

Embedded by default (PGlite in memory or in BV_DATA_DIR, the event log in the same database);
with DATABASE_URL and KAFKA_BROKERS the same code runs on PostgreSQL and Kafka.

Modules (BV_CLOUD_MODULES, default all): one process can run every domain, or a few of them
(one Deployment per module); auth, the live hub and the dashboard shell are in every process.
${moduleList}

${describeConfig(cloudConfigSpec)}

Alarm rule defaults (each site can override them: PUT /api/v1/sites/<id>/alarm-settings):
${describeConfig(alarmSettingsSpec)}

Chat (WebSocket /api/v1/chat; instances share rooms through REDIS_URL, sites replicate through bv.chat):
${describeConfig(chatSettingsSpec)}

Webhooks (delivery on RabbitMQ when AMQP_URL is set, else a queue in the database):
${describeConfig(webhookSettingsSpec)}

Payments (providers by URL; checkout takes payment once one is set; the toggle is changed at
runtime with PUT /api/v1/admin/flags/payments.provider):
${describeConfig(paymentSettingsSpec)}
`;

async function main(argv: string[]): Promise<number | 'running'> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`bitv-cloud: unknown argument(s): ${argv.join(' ')} (see --help)\n`);
    return 2;
  }
  const config = loadConfig(cloudConfigSpec, process.env);
  const alarms = loadConfig(alarmSettingsSpec, process.env);
  const webhooks = loadConfig(webhookSettingsSpec, process.env);
  const payments = loadConfig(paymentSettingsSpec, process.env);
  try {
    parseSchedule(webhooks.schedule);
  } catch (error) {
    process.stderr.write(`bitv-cloud: BV_WEBHOOKS_RETRY_SCHEDULE: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    resolveModules(config.modules);
  } catch (error) {
    // A wrong list is bad configuration (exit 2), found before anything is opened.
    if (!(error instanceof ModuleSelectionError)) throw error;
    process.stderr.write(`bitv-cloud: BV_CLOUD_MODULES: ${error.message}\n`);
    return 2;
  }
  const logger = createLogger('cloud', { level: config.logLevel });
  const registry = createRegistry({ defaultMetrics: true });
  const database = await openDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
  });
  const eventLog = await createEventLog({
    ...(config.kafkaBrokers?.length
      ? { kafka: { brokers: config.kafkaBrokers, clientId: 'bitv-cloud' } }
      : {}),
    database,
    registry: platformEvents(),
    logger,
    metrics: registry,
  });
  const cloud = await startCloud(
    {
      host: config.host,
      port: config.port,
      grpcPort: config.grpcPort,
      issuer: config.issuer,
      signingAlg: config.signingAlg,
      ...(config.keyFile ? { keyFile: config.keyFile } : {}),
      accessTtlSeconds: config.accessTtlSeconds,
      refreshTtlSeconds: config.refreshTtlSeconds,
      deviceTtlSeconds: config.deviceTtlSeconds,
      brokerUrl: config.brokerUrl,
      primaryHostId: config.primaryHostId,
      stableWindowMs: config.stableWindowMs,
      loginThrottle: {
        accountFreeFailures: config.loginFreeFailures,
        addressFreeFailures: config.loginAddressFreeFailures,
        lockoutSeconds: config.loginLockoutSeconds,
        maxLockoutSeconds: config.loginMaxLockoutSeconds,
      },
      trustProxy: config.trustProxy,
      modules: config.modules,
      alarms,
      webhooks,
      payments,
      chat: chatSettingsOf(process.env),
      ...commerceSettingsOf(config),
      ...(config.firmwareStore ? { firmwareStore: config.firmwareStore } : {}),
      feed: {
        fanoutThreshold: config.feedFanoutThreshold,
        mergeWindowDays: config.feedMergeWindowDays,
        heartbeatMs: config.feedHeartbeatMs,
        maxBufferedEvents: config.feedClientBuffer,
      },
      flashSales: {
        tickMs: config.flashTickMs,
        heartbeatMs: config.flashHeartbeatMs,
        maxClients: config.flashMaxClients,
      },
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      admin: {
        email: config.adminEmail,
        ...(config.adminPassword ? { password: config.adminPassword } : {}),
      },
    },
    { database, eventLog, logger, registry },
  );
  if (cloud.bootstrapAdmin) {
    // Printed once, on the terminal only (not in the structured log that may be shipped elsewhere).
    process.stderr.write(
      `\nFirst admin created: ${cloud.bootstrapAdmin.email} / ${cloud.bootstrapAdmin.password}\n\n`,
    );
  }
  if (config.demo) {
    const seeded = await cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'SIM0001',
          bins: [0, 1, 2, 3, 4, 5].map((i) => ({ unitWeightG: 25 + i * 15, count: 20 + i * 3 })),
        },
      ],
    });
    const token = await cloud.createClaimToken({ siteId: seeded.siteId, gatewayId: seeded.gatewayId });
    process.stderr.write(`Demo site ${seeded.siteId}; claim token for ${seeded.gatewayId}: ${token}\n`);
  }
  process.stderr.write(
    `Dashboard: ${cloud.url}/   API: ${cloud.url}/openapi.json   gRPC: ${cloud.grpcUrl ?? 'off'}\n`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await cloud.close();
    await eventLog.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return 'running';
}

runCli({ name: 'bitv-cloud', version: pkg.version }, main);
