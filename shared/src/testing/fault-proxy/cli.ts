import { parseArgs } from 'node:util';
import pkg from '../../../package.json' with { type: 'json' };
import { runCli } from '../../cli/index.js';
import { ValidationError } from '../../errors/index.js';
import { startControl } from './control.js';
import { FaultProxy } from './proxy.js';
import { parseToxicFlag, toxicTypes } from './toxics.js';

const usage = `bitv-fault-proxy: a TCP proxy that injects network faults, with Toxiproxy's toxic names

Usage: npm run fault-proxy -w shared -- --upstream <host:port> [options]

Options:
  --upstream <host:port>   where connections go (required)
  --host <addr>            address to listen on (default 127.0.0.1)
  --port <n>               port to listen on (default 0: any free port, printed)
  --toxic <spec>           a toxic, repeatable: type[:stream][:toxicity]=attr=value,...
                           e.g. latency:downstream=latency=200,jitter=50
                                timeout:upstream=timeout=0       (black hole)
                                reset_peer:downstream:0.3=timeout=500
  --stats-every <ms>       print the byte/connection counts this often (default 0: never)
  --api-port <n>           serve the control API on 127.0.0.1:<n> (0 = any; default: none):
                           GET/POST /toxics, DELETE /toxics/<name>, POST /disable, POST /enable,
                           GET /stats, GET /healthz, GET /metrics
  -h, --help               this text
  --version                the version

Toxics (attributes as Toxiproxy's): ${toxicTypes.join(', ')}.
  latency latency,jitter (ms) | bandwidth rate (KB/s) | slow_close delay (ms)
  timeout timeout (ms, 0 = never close) | reset_peer timeout (ms) | limit_data bytes
  slicer average_size,size_variation (bytes),delay (microseconds)
Signals: SIGUSR1 disables the proxy (refuse + reset), SIGUSR2 enables it again. See docs/resilience.md.
`;

runCli({ name: 'bitv-fault-proxy', version: pkg.version }, async (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      upstream: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      toxic: { type: 'string', multiple: true, default: [] },
      'stats-every': { type: 'string', default: '0' },
      'api-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.upstream) throw new ValidationError('--upstream <host:port> is required (see --help)');
  const port = Number(values.port);
  const statsEvery = Number(values['stats-every']);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ValidationError(`--port ${values.port} is not a port`);
  if (!Number.isInteger(statsEvery) || statsEvery < 0)
    throw new ValidationError('--stats-every must be whole ms >= 0');
  let toxics: ReturnType<typeof parseToxicFlag>[];
  try {
    toxics = values.toxic.map(parseToxicFlag);
  } catch (error) {
    throw new ValidationError(`bad --toxic: ${error instanceof Error ? error.message : String(error)}`);
  }
  const apiPort = values['api-port'] === undefined ? undefined : Number(values['api-port']);
  if (apiPort !== undefined && (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65_535)) {
    throw new ValidationError(`--api-port ${values['api-port']} is not a port`);
  }
  const proxy = await FaultProxy.start({
    upstream: values.upstream,
    listenHost: values.host,
    port,
    name: 'cli',
  });
  for (const toxic of toxics) proxy.addToxic(toxic);
  const control = apiPort === undefined ? undefined : await startControl(proxy, apiPort);
  process.stdout.write(
    `${JSON.stringify({ listening: proxy.address, upstream: values.upstream, api: control?.url, toxics: proxy.toxics() })}\n`,
  );
  if (statsEvery > 0)
    setInterval(() => process.stdout.write(`${JSON.stringify(proxy.stats())}\n`), statsEvery).unref();
  process.on('SIGUSR1', () => void proxy.disable());
  process.on('SIGUSR2', () => void proxy.enable());
  const stop = () => void Promise.all([proxy.close(), control?.close()]).finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return 'running';
});
