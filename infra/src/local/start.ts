import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '@bitv/shared/cli';
import { describeConfig, loadConfig, redactUrl } from '@bitv/shared/config';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import pkg from '../../../package.json' with { type: 'json' };
import { platformConfigSpec } from './config.js';
import { acquireRunLock } from './lock.js';
import { startPlatform, writePlatformFile } from './platform.js';

const usage = `Usage: npm start [-- --help | --version]

Runs the whole BitVelocity platform in one process on its embedded defaults: simulated shelves
on pseudo-terminals (socat), the edge agent with its SQLite outbox, the MQTT gateway, the cloud
services (HTTP API, dashboard and gRPC) on PGlite with the event log in the same database. Runs
until Ctrl-C. Set DATABASE_URL and KAFKA_BROKERS to run the same code on PostgreSQL and Kafka, and
REDIS_URL to make the gateway a member of a broker cluster on Redis.

One launcher per run folder: a second start in the same BV_RUN_DIR says "already running (pid N)"
and touches nothing (<run dir>/platform.pid; one left by a crashed run is taken over).
Exit status: 2 for bad configuration or arguments, 1 when it cannot start (already running, a port
in use, a database that does not answer), each with one line on stderr; the details are in
<run dir>/platform.log.

${describeConfig(platformConfigSpec)}`;

async function main(argv: string[]): Promise<number | 'running'> {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const config = loadConfig(platformConfigSpec, process.env);
  const runDir = resolve(config.runDir);
  mkdirSync(runDir, { recursive: true });
  // Before anything else in the folder is touched (the log file, the shelves' links, the database).
  const lock = acquireRunLock(runDir);
  process.on('exit', () => lock.release());
  const logFile = join(runDir, 'platform.log');
  // Structured logs go to a file so the terminal keeps the few lines a person needs.
  const logger = createLogger('', {
    base: { service: 'bitvelocity' },
    level: config.logLevel,
    destination: logFile,
  });
  const registry = createRegistry({ defaultMetrics: true });

  process.stdout.write(`Starting BitVelocity (logs: ${logFile}) ...\n`);
  const platform = await startPlatform(config, { logger, registry }).catch((error: unknown) => {
    // The terminal gets one line (runCli); the log keeps the stack for whoever digs.
    logger.fatal({ err: error }, 'start failed');
    logger.flush();
    throw error;
  });
  const platformFile = await writePlatformFile(runDir, platform);
  const lines = [
    '',
    'BitVelocity is running.',
    `  Dashboard        ${platform.dashboardUrl}/`,
    `  API (OpenAPI)    ${platform.dashboardUrl}/openapi.json`,
    `  gRPC             ${platform.grpcUrl ?? '(off: BV_GRPC_PORT=-1)'}   (InventoryService, OrderService; proto/)`,
    `  Health, metrics  ${platform.dashboardUrl}/healthz  ${platform.dashboardUrl}/metrics`,
    `  MQTT broker      ${platform.mqttUrl}${platform.wsUrl ? `   WebSocket ${platform.wsUrl}` : ''}`,
    `  Broker cluster   ${config.redisUrl ? `on Redis at ${redactUrl(config.redisUrl)} (REDIS_URL)` : 'single node (set REDIS_URL to cluster on Redis)'}`,
    `  Simulator        ${platform.simControlUrl ?? '(no control API)'}  (POST /shelves/<serial>/bins/<bin>/pick {"count":3})`,
    `  Payment providers SOAP bank ${platform.bankUrl ? `${platform.bankUrl}?wsdl` : '(off: BV_BANK_PORT=-1)'}   rest-pay ${platform.restPayUrl ?? '(off)'}   (faults: PUT <service>/admin/faults; docs/payments.md)`,
    `  Storage          ${platform.database} database, ${platform.eventLog} event log, data in ${runDir}`,
    `  Shelves          ${platform.shelves.map((s) => `${s.deviceId} (${s.bins} bins)`).join(', ')}`,
    `  Pick-to-light    a simulated picker follows the lit bins (${Math.round(config.pickerErrorRate * 100)} % wrong picks); ${config.demoShopper ? `a demo shopper orders every ~${config.demoShopperEverySeconds} s (BV_DEMO_SHOPPER=false stops it)` : 'demo shopper off (BV_DEMO_SHOPPER)'}`,
    `  Pages            /orders  /pick  /catalog  /alarms  /firmware/rollouts  /fleet  /chat`,
    `  Webhooks         ${platform.dashboardUrl}/partner/webhooks   on ${config.amqpUrl ? `RabbitMQ at ${redactUrl(config.amqpUrl)} (AMQP_URL)` : 'a queue in the database (set AMQP_URL for RabbitMQ)'}   (BV_WEBHOOKS_*; docs/webhooks.md)`,
    `  Chat             ${platform.dashboardUrl}/chat   WebSocket ${platform.dashboardUrl.replace('http', 'ws')}/api/v1/chat   (BV_CHAT_*; docs/chat.md)`,
    platform.admin
      ? `  Admin login      ${platform.admin.email} / ${platform.admin.password}   (shown once; set BV_ADMIN_PASSWORD to choose)`
      : `  Admin login      ${config.adminEmail} (password as set on the first start)`,
    `  Details          ${platformFile}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping ...\n`);
    const force = setTimeout(() => {
      process.stderr.write('shutdown took longer than 15 s, exiting\n');
      process.exit(1);
    }, 15_000);
    force.unref();
    platform
      .close()
      .then(() => {
        logger.flush();
        process.stdout.write('stopped.\n');
        process.exit(0);
      })
      .catch((error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return 'running';
}

runCli({ name: 'bitvelocity', version: pkg.version }, main);
