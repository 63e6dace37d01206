import { parseArgs } from 'node:util';
import { runCli } from '@bitv/shared/cli';
import { ValidationError } from '@bitv/shared/errors';
import { createLogger } from '@bitv/shared/log';
import { agentVersion } from '../version.js';
import { AgentSupervisor } from './supervisor.js';

const usage = `bitv-edge-supervisor: runs the edge agent from <root>/current, restarts it, rolls a failed update back

Usage: bitv-edge-supervisor --root <dir> [--health-timeout-ms 60000] [--restart-delay-ms 1000] [-- <agent args>]

The agent runs as "node <root>/current/bitv-edge.mjs <agent args>" (default args: run), with
BV_EDGE_UPDATE_DIR=<root>. A version on trial that is not online within the health timeout, or that
exits, is rolled back to the one before (docs/ota.md). Stop it with SIGTERM.
`;

runCli({ name: 'bitv-edge-supervisor', version: agentVersion }, async (argv) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      'health-timeout-ms': { type: 'string', default: '60000' },
      'restart-delay-ms': { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.root) throw new ValidationError('--root is required (see --help)');
  const healthTimeoutMs = Number(values['health-timeout-ms']);
  const restartDelayMs = Number(values['restart-delay-ms']);
  if (!(healthTimeoutMs > 0) || !(restartDelayMs >= 0))
    throw new ValidationError('timeouts must be positive numbers');
  const args = positionals.length > 0 ? positionals : ['run'];
  const logger = createLogger('edge-supervisor');
  const supervisor = new AgentSupervisor(
    { root: values.root, healthTimeoutMs, restartDelayMs, command: (b) => [process.execPath, [b, ...args]] },
    logger,
  );
  await supervisor.start();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => void supervisor.stop().then(() => process.exit(0)));
  return 'running';
});
