import { parseArgs } from 'node:util';
import { createLogger, createRegistry, describeConfig, loadConfig } from '@bitv/shared';
import { runCli } from '@bitv/shared/cli';
import pkg from '../package.json' with { type: 'json' };
import { flags, simulatorConfig } from './config.js';
import { loadScenarioFile } from './scenario/load.js';
import { startSimulation } from './simulation.js';

const usage = `bitv-sim: simulated shelf controllers (and a Firmata board) for BitVelocity

Usage: bitv-sim [options]        (or: npx tsx firmware-sim/src/cli.ts [options])

Options (each overrides the environment variable below it):
  --scenario <file>      scenario file, JSON or YAML (see firmware-sim/README.md)
  --shelves <n>          shelves to simulate without a scenario
  --bins <n>             bins per shelf without a scenario
  --seed <n>             random seed
  --speed <x>            virtual time per wall time (10 = ten times faster)
  --dir <path>           folder for the pty links: <dir>/<serialNumber>
  --state-dir <path>     keep each shelf's goods, tare, calibration and sample rate in
                         <path>/<serialNumber>.json across restarts (LEDs start off)
  --tcp                  TCP instead of pseudo-terminals (one port per shelf)
  --tcp-host <addr>      address TCP shelves listen on
  --serial-prefix <s>    serial numbers <s>0001, <s>0002, ...
  --firmata              also simulate a Firmata board at <dir>/firmata
  --control-host <addr>  control API, /healthz and /metrics address
  --control-port <n>     control API port (0 = any, -1 = none)
  --picker               a simulated person picks from bins lit green and puts back what a red bin
                         asks for (one unit per reach: the LED shows no quantity)
  --picker-error-rate <r> share of picks that go wrong (neighbouring bin, one unit too few)
  --picker-reach-ms <n>  mean ms from a bin lighting up to the picker's hand in it
  --log-level <level>    log level
  -h, --help             this text
  --version              the version

Exit status: 2 for bad configuration or arguments, 1 when it cannot start (a port in use, no
socat), each with one line on stderr.

Control API: GET /shelves, GET /shelves/:serial, POST /shelves/:serial/bins/:bin/pick {"count":n},
POST /shelves/:serial/bins/:bin/restock {"count":n}, POST /shelves/:serial/faults {"kind":...},
GET /firmata, POST /firmata/door {"open":true}, GET /healthz, GET /metrics.
`;

async function main(argv: string[]): Promise<number | 'running'> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.boolean ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage}\n${describeConfig(simulatorConfig)}\n`);
    return 0;
  }
  const source: Record<string, string | undefined> = { ...process.env };
  for (const [name, f] of Object.entries(flags)) {
    const v = values[name];
    if (v === undefined) continue;
    source[f.env] = typeof v === 'boolean' ? (name === 'tcp' ? 'tcp' : String(v)) : String(v);
  }
  const config = loadConfig(simulatorConfig, source);
  const logger = createLogger('firmware-sim', { level: config.logLevel });
  const registry = createRegistry({ defaultMetrics: true });
  const scenario = config.scenario ? await loadScenarioFile(config.scenario) : undefined;
  const sim = await startSimulation(
    {
      scenario,
      shelves: config.shelves,
      bins: config.bins,
      // A scenario's own seed and speed apply unless given explicitly.
      seed: source.BV_SIM_SEED || scenario?.seed === undefined ? config.seed : undefined,
      speed: source.BV_SIM_SPEED || scenario?.speed === undefined ? config.speed : undefined,
      transport: config.transport,
      dir: config.dir,
      ...(config.stateDir ? { stateDir: config.stateDir } : {}),
      tcpHost: config.tcpHost,
      serialPrefix: config.serialPrefix,
      firmata: config.firmata,
      controlHost: config.controlHost,
      controlPort: config.controlPort < 0 ? null : config.controlPort,
      ...(config.picker
        ? {
            picker: {
              errorRate: config.pickerErrorRate,
              reachMs: { min: config.pickerReachMs * 0.6, max: config.pickerReachMs * 1.4 },
            },
          }
        : {}),
    },
    { logger, registry },
  );
  logger.info(
    {
      shelves: sim.shelves.map((s) => ({ serialNumber: s.serialNumber, path: s.path, bins: s.bins })),
      firmata: sim.firmata?.path,
      control: sim.control?.url,
    },
    'simulation running',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    sim.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return 'running';
}

runCli({ name: 'bitv-sim', version: pkg.version }, main);
