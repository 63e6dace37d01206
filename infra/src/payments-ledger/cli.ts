import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, describeConfig, loadConfig } from '@bitv/shared';
import { ValidationError } from '@bitv/shared/errors';
import type { Logger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { faultsOf, paymentServiceConfig, paymentServiceFlags } from './config.js';
import { type FaultSettings, faultSettingsSchema } from './faults.js';

export interface PaymentServiceStart {
  host: string;
  port: number;
  dbPath: string | undefined;
  callbackUrl: string | undefined;
  secret: string;
  seed: number;
  faults: FaultSettings;
  log: Logger;
  registry: Registry;
}

/**
 * The command-line half both payment services share: flags over env, `--help` with every
 * variable, `--memory`; then `start` and stop on SIGINT/SIGTERM.
 */
export async function runPaymentService(
  argv: string[],
  what: {
    prefix: 'BV_BANK' | 'BV_REST_PAY';
    defaultPort: number;
    usage: string;
    component: string;
    file: string;
  },
  start: (options: PaymentServiceStart) => Promise<{ close(): Promise<void> }>,
): Promise<number | 'running'> {
  const spec = paymentServiceConfig(what.prefix, what.defaultPort);
  const flags = paymentServiceFlags(what.prefix);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    memory: { type: 'boolean' },
  };
  for (const name of Object.keys(flags)) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${what.usage}\n${describeConfig(spec)}\n`);
    return 0;
  }
  const source: Record<string, string | undefined> = { ...process.env };
  for (const [name, env] of Object.entries(flags)) {
    const v = values[name];
    if (typeof v === 'string') source[env] = v;
  }
  if (values.memory) source[`${what.prefix}_DATA_DIR`] = undefined;
  const config = loadConfig(spec, source);
  // Rates outside 0..1 and the like: a usage error (status 2), said once, before anything starts.
  const faults = faultSettingsSchema.safeParse(faultsOf(config));
  if (!faults.success) {
    const why = faults.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(`bad fault settings: ${why}`);
  }
  const log = createLogger(what.component, { level: config.logLevel });
  const registry = createRegistry({ defaultMetrics: true });
  const service = await start({
    host: config.host,
    port: config.port,
    dbPath: config.dataDir ? join(config.dataDir, what.file) : undefined,
    callbackUrl: config.callbackUrl,
    secret: config.secret,
    seed: config.seed,
    faults: faults.data,
    log,
    registry,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return 'running';
}
