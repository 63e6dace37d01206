import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeConfig, loadConfig } from '@bitv/shared/config';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { platformConfigSpec } from './config.js';
import { startPlatform, writePlatformFile } from './platform.js';

const usage = `Usage: npm start [-- --help]

Runs the whole BitVelocity platform in one process on its embedded defaults: simulated shelves
on pseudo-terminals (socat), the edge agent with its SQLite outbox, the MQTT gateway, the cloud
services on PGlite with the event log in the same database, and the dashboard. Runs until Ctrl-C.
Set DATABASE_URL and KAFKA_BROKERS to run the same code on PostgreSQL and Kafka.

${describeConfig(platformConfigSpec)}`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const config = loadConfig(platformConfigSpec, process.env);
  const runDir = resolve(config.runDir);
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, 'platform.log');
  // Structured logs go to a file so the terminal keeps the few lines a person needs.
  const logger = createLogger('', {
    base: { service: 'bitvelocity' },
    level: config.logLevel,
    destination: logFile,
  });
  const registry = createRegistry({ defaultMetrics: true });

  process.stdout.write(`Starting BitVelocity (logs: ${logFile}) ...\n`);
  const platform = await startPlatform(config, { logger, registry });
  const platformFile = await writePlatformFile(runDir, platform);
  const lines = [
    '',
    'BitVelocity is running.',
    `  Dashboard        ${platform.dashboardUrl}/`,
    `  API (OpenAPI)    ${platform.dashboardUrl}/openapi.json`,
    `  Health, metrics  ${platform.dashboardUrl}/healthz  ${platform.dashboardUrl}/metrics`,
    `  MQTT broker      ${platform.mqttUrl}${platform.wsUrl ? `   WebSocket ${platform.wsUrl}` : ''}`,
    `  Simulator        ${platform.simControlUrl ?? '(no control API)'}  (POST /shelves/<serial>/bins/<bin>/pick {"count":3})`,
    `  Storage          ${platform.database} database, ${platform.eventLog} event log, data in ${runDir}`,
    `  Shelves          ${platform.shelves.map((s) => `${s.deviceId} (${s.bins} bins)`).join(', ')}`,
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
}

main().catch((error: unknown) => {
  process.stderr.write(
    `BitVelocity failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
