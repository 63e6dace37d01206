import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { repoRoot } from './platform-process.js';

export interface CliProcess {
  /** The last 20 kB of its stdout and stderr, for a failure message. */
  output(): string;
  /** The process id of its current life. */
  pid(): number | undefined;
  /** Whether its current life has ended (exited or killed). */
  exited(): boolean;
  start(): void;
  /** SIGKILL (no shutdown code runs), resolved once it has exited. */
  kill(): Promise<void>;
}

/** A workspace CLI as its own process (tsx), to be SIGKILLed and started again. */
export function cliProcess(cli: string, args: string[], env: NodeJS.ProcessEnv): CliProcess {
  let child: ChildProcess | undefined;
  let output = '';
  return {
    output: () => output,
    pid: () => child?.pid,
    exited: () => child !== undefined && (child.exitCode !== null || child.signalCode !== null),
    start() {
      child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await once(c, 'exit');
    },
  };
}
