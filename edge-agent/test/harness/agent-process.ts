import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deployedNodeFlags } from '../../scripts/build.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** The agent as its own process (`bitv-edge run`), so a test can SIGKILL it. */
export class AgentProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  log = '';
  /** How the last run ended: its exit code, or the signal that ended it. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /**
   * `bundle`: a file built by `buildAgentBundle`, run with the systemd unit's node flags as
   * deployed; default: the TypeScript CLI via tsx.
   */
  constructor(
    private readonly env: Record<string, string>,
    private readonly bundle?: string,
  ) {}

  start(): void {
    const args = this.bundle ? [...deployedNodeFlags(), this.bundle, 'run'] : ['--import', 'tsx', cli, 'run'];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = undefined;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.child) return;
    this.child.kill(signal);
    await this.exited;
    this.child = undefined;
  }
}
