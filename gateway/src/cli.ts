import { runCli } from '@bitv/shared/cli';
import { describeConfig, loadConfig, setting } from '@bitv/shared/config';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import pkg from '../package.json' with { type: 'json' };
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

Usage: bitv-gateway [--allow-anonymous] [--help] [--version]      (in the repo: npx bitv-gateway)

  --allow-anonymous   development mode: accept any client without a token and allow every
                      topic (like Mosquitto's allow_anonymous). Never in production.
  -h, --help          this help
  --version           the version

Exit status: 2 for bad configuration or arguments, 1 when it cannot start (a port in use, an
event log that does not answer), each with one line on stderr.

Listeners: MQTT on BV_GATEWAY_MQTT_PORT, MQTT over TLS on BV_GATEWAY_TLS_PORT when a key and a
certificate are given, MQTT over WebSocket on BV_GATEWAY_WS_PORT (path /mqtt), /healthz and
/metrics on BV_GATEWAY_OPS_PORT. Cluster mode when REDIS_URL is set. LOG_LEVEL is read as a
deprecated alias of BV_LOG_LEVEL.

${describeConfig({ ...gatewayConfigSpec, ...eventLogSpec })}
`;

async function main(argv: readonly string[]): Promise<number | 'running'> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--allow-anonymous');
  if (unknown.length > 0) {
    process.stderr.write(`bitv-gateway: unknown argument(s): ${unknown.join(' ')} (see --help)\n`);
    return 2;
  }
  const env = withLogLevelAlias(process.env);
  const config = loadConfig(gatewayConfigSpec, env);
  const logConfig = loadConfig(eventLogSpec, env);
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
  return 'running';
}

/** LOG_LEVEL was this command's name for BV_LOG_LEVEL; it still works, with a warning. */
function withLogLevelAlias(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  if (!env.LOG_LEVEL || env.BV_LOG_LEVEL) return env;
  process.stderr.write('bitv-gateway: LOG_LEVEL is deprecated, set BV_LOG_LEVEL instead\n');
  return { ...env, BV_LOG_LEVEL: env.LOG_LEVEL };
}

runCli({ name: 'bitv-gateway', version: pkg.version }, main);
