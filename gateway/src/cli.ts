import { describeConfig, loadConfig, setting } from '@bitv/shared/config';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { gatewayConfigSpec } from './config.js';
import { startGateway } from './start.js';

/** Where the event log lives: Kafka when brokers are set, else the database (PGlite embedded by default). */
const eventLogSpec = {
  kafkaBrokers: setting.optionalList('KAFKA_BROKERS', {
    description: 'Kafka bootstrap brokers host:port,...; when unset the log lives in the database',
  }),
  databaseUrl: setting.optionalUrl('DATABASE_URL', {
    description: 'PostgreSQL for the database event log (when no Kafka); unset = embedded PGlite',
  }),
  dataDir: setting.optionalString('BV_DATA_DIR', {
    description: 'PGlite data folder for the embedded event log (unset = in memory)',
  }),
};

const usage = `bitv-gateway: authenticated, clustered MQTT broker (aedes) bridged into the event log

Usage: bitv-gateway [--allow-anonymous] [--help]      (in the repo: npx tsx gateway/src/cli.ts)

  --allow-anonymous   development mode: accept any client without a token and allow every
                      topic (like Mosquitto's allow_anonymous). Never in production.
  -h, --help          this help

Listeners: MQTT on BV_GATEWAY_MQTT_PORT, MQTT over TLS on BV_GATEWAY_TLS_PORT when a key and a
certificate are given, MQTT over WebSocket on BV_GATEWAY_WS_PORT (path /mqtt), /healthz and
/metrics on BV_GATEWAY_OPS_PORT. Cluster mode when REDIS_URL is set.

${describeConfig({ ...gatewayConfigSpec, ...eventLogSpec })}
`;

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return;
  }
  const unknown = argv.filter((a) => a !== '--allow-anonymous');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(gatewayConfigSpec, process.env);
  const logConfig = loadConfig(eventLogSpec, process.env);
  if (argv.includes('--allow-anonymous')) config.allowAnonymous = true;
  const logger = createLogger('gateway', { level: config.logLevel });
  const registry = createRegistry({ defaultMetrics: true });
  const brokers = logConfig.kafkaBrokers ?? [];
  const database =
    brokers.length > 0
      ? undefined
      : await openDatabase({ url: logConfig.databaseUrl, dataDir: logConfig.dataDir });
  const eventLog = await createEventLog({
    kafka: brokers.length > 0 ? { brokers, clientId: 'bitv-gateway' } : undefined,
    database,
    registry: platformEvents(),
    logger,
    metrics: registry,
  });
  const gateway = await startGateway(config, { eventLog, logger, registry });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await gateway.close();
    await eventLog.close();
    await database?.close();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bitv-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
