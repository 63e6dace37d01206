import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '@bitv/shared/log';
import { BUNDLE_FILE, currentVersion, readTrial, rollBack } from './self-update.js';

/** Exit status the agent uses to ask for a restart into the version `current` now points at. */
export const EXIT_RESTART = 75;

export interface SupervisorOptions {
  root: string;
  /** The command for a bundle path: default `node <bundle> run`. */
  command: (bundle: string) => [string, string[]];
  /** A version on trial that is not healthy by then is rolled back. */
  healthTimeoutMs: number;
  /** Between restarts after a crash (systemd's RestartSec). */
  restartDelayMs: number;
  env?: NodeJS.ProcessEnv;
}

export const defaultSupervisorOptions = {
  command: (bundle: string): [string, string[]] => [process.execPath, [bundle, 'run']],
  healthTimeoutMs: 60_000,
  restartDelayMs: 1_000,
};

/**
 * Runs the agent from `<root>/current` and keeps it running, as systemd does with `Restart=`
 * (docs/ota.md has the unit that runs this supervisor). It adds what a service manager cannot
 * know: a version on trial must call `markHealthy` within `healthTimeoutMs`, and one that exits
 * or stays unhealthy is rolled back to the previous version, which is started again.
 */
export class AgentSupervisor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private trialTimer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  readonly o: SupervisorOptions;
  /** Every start, for tests and the log: version and pid. */
  readonly starts: { version: string | null; pid: number | undefined }[] = [];

  constructor(
    options: Partial<SupervisorOptions> & { root: string },
    private readonly logger: Logger,
  ) {
    this.o = { ...defaultSupervisorOptions, ...options };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const version = await currentVersion(this.o.root);
    if (!version) throw new Error(`nothing installed under ${this.o.root}/current`);
    const [cmd, args] = this.o.command(join(this.o.root, 'current', BUNDLE_FILE));
    const child = spawn(cmd, args, {
      stdio: 'inherit',
      env: { ...process.env, ...this.o.env, BV_EDGE_UPDATE_DIR: this.o.root },
    });
    this.child = child;
    this.starts.push({ version, pid: child.pid });
    this.logger.info({ version, pid: child.pid }, 'agent started');
    const trial = await readTrial(this.o.root);
    if (trial?.version === version) this.watchTrial(version);
    child.once('exit', (code, signal) => void this.onExit(child, version, code, signal));
  }

  private watchTrial(version: string): void {
    const started = Date.now();
    // The agent removes trial.json through markHealthy; polled (a file is what systemd units share).
    this.poll = setInterval(() => {
      void readTrial(this.o.root).then((t) => {
        if (t?.version !== version) {
          this.clearTrial();
          this.logger.info({ version, afterMs: Date.now() - started }, 'agent update healthy');
        }
      });
    }, 100);
    this.trialTimer = setTimeout(
      () => void this.fail(version, `not healthy within ${this.o.healthTimeoutMs} ms`),
      this.o.healthTimeoutMs,
    );
  }

  private clearTrial(): void {
    clearInterval(this.poll);
    clearTimeout(this.trialTimer);
    this.poll = this.trialTimer = undefined;
  }

  /** Rolls a failed trial back and restarts the previous version. */
  private async fail(version: string, reason: string): Promise<void> {
    this.clearTrial();
    const previous = await rollBack(this.o.root, reason);
    this.logger.warn({ version, previous, reason }, 'agent update rolled back');
    const child = this.child;
    // Its exit handler restarts whatever `current` is now: the previous version.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }

  private async onExit(
    child: ChildProcess,
    version: string,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.stopped) return;
    const trial = await readTrial(this.o.root);
    if (trial?.version === version && code !== EXIT_RESTART) {
      // Died during its trial: it will not become healthy.
      await this.fail(version, `exited during its trial (${signal ?? `status ${code}`})`);
    }
    const delay = code === EXIT_RESTART ? 0 : this.o.restartDelayMs;
    this.logger.info({ version, code, signal, restartInMs: delay }, 'agent exited');
    setTimeout(() => {
      if (!this.stopped)
        void this.start().catch((error: unknown) => this.logger.error({ err: error }, 'restart failed'));
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTrial();
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
