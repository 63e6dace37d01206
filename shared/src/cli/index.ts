import { errorText } from '../config/redact.js';
import { ValidationError } from '../errors/index.js';

/**
 * How every BitVelocity command starts and ends, so they all behave alike:
 * - `--version` prints `<name> <version>`, the version of the workspace's package.json;
 * - bad configuration or arguments: one line on stderr, exit status 2;
 * - any other failure to start (a port in use, a database that does not answer): one line, status 1;
 * - the process exits when it says it does: a failed start leaves nothing running behind it.
 */
export interface CliDefinition {
  /** The command as a person types it, e.g. `bitv-gateway`. */
  name: string;
  /**
   * The workspace's package.json version, imported (`import pkg from '../package.json' with
   * { type: 'json' }`) so that a bundled command (the edge agent's) carries it inside.
   */
  version: string;
}

/** Status of a command that was given bad configuration or arguments. */
export const exitUsage = 2;

/**
 * Runs `main` with the arguments. `main` returns a status to exit with once it is done, or
 * `'running'` for a service that stays up until its own signal handler ends the process.
 */
export function runCli(
  cli: CliDefinition,
  main: (argv: string[]) => Promise<number | 'running'>,
  argv: string[] = process.argv.slice(2),
): void {
  if (argv.includes('--version')) {
    process.stdout.write(`${cli.name} ${cli.version}\n`);
    process.exit(0);
  }
  main(argv).then(
    (status) => {
      if (status !== 'running') process.exit(status);
    },
    (error: unknown) => {
      const { status, message } = describeFailure(error);
      process.stderr.write(`${cli.name}: ${message}\n`);
      // Whatever the failed start left open (a broker, a consumer, a pool) must not keep us alive.
      process.exit(status);
    },
  );
}

/** The one line and the exit status for an error that ended a command. */
export function describeFailure(error: unknown): { status: number; message: string } {
  if (error instanceof ValidationError) return { status: exitUsage, message: oneLine(error.message) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    return { status: exitUsage, message: `${oneLine(errorText(error))} (see --help)` };
  }
  const listen = listenFailure(error);
  if (listen) return { status: 1, message: listen };
  return { status: 1, message: oneLine(errorText(error)) };
}

const listenReasons: Record<string, string> = {
  EADDRINUSE: 'the port is in use (another instance running, or another program on it?)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
};

function listenFailure(error: unknown): string | undefined {
  const e = error as { syscall?: unknown; code?: unknown; address?: unknown; port?: unknown } | null;
  if (e?.syscall !== 'listen' || typeof e.code !== 'string') return undefined;
  const where = typeof e.address === 'string' ? `${e.address}:${String(e.port)}` : `port ${String(e.port)}`;
  return `cannot listen on ${where}: ${listenReasons[e.code] ?? e.code}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}
