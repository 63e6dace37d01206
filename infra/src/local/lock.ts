import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '@bitv/shared/errors';

/** Another launcher is running in the same run folder. */
export class AlreadyRunningError extends ConflictError {
  readonly pid: number;

  constructor(pid: number, file: string) {
    super(
      `already running (pid ${pid}) in this run folder; stop it first (Ctrl-C in its terminal, or kill ${pid}). ` +
        `If no such process is yours, delete ${file}`,
      { details: { pid, file } },
    );
    this.pid = pid;
  }
}

export interface RunLock {
  file: string;
  /** Removes the pid file if it is still ours; safe to call more than once, and from an exit handler. */
  release(): void;
}

/**
 * One launcher per run folder: `<run dir>/platform.pid`, created exclusively, holds the owner's pid.
 * It is taken before anything in the folder is touched, since a second start would otherwise
 * recreate the first one's shelf links, database and logs under its feet. A pid file whose process
 * is gone (a crashed or killed run) is taken over, and so is one whose pid now belongs to a process
 * started after the file was written (the number was reused, e.g. after a reboot).
 */
export function acquireRunLock(runDir: string): RunLock {
  const file = join(runDir, 'platform.pid');
  const lock: RunLock = {
    file,
    release: () => {
      if (readPid(file) === process.pid) rmSync(file, { force: true });
    },
  };
  // A stale file costs a round: removed in one, created in the next.
  for (let round = 0; round < 3; round++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = readText(file);
    const owner = readPid(file);
    if (owner !== undefined && owner !== process.pid && isAlive(owner) && !startedAfter(owner, file)) {
      throw new AlreadyRunningError(owner, file);
    }
    removeStale(file, seen);
  }
  throw new ConflictError(`cannot take ${file}: another launcher is starting in the same run folder`);
}

/**
 * Removes the pid file if it still holds what was judged stale, under `<file>.takeover` (created
 * exclusively): two launchers that found the same stale file cannot both remove it and then each
 * remove the other's fresh one. A marker left by a launcher that died mid-takeover is ignored
 * after a minute.
 */
function removeStale(file: string, seen: string | undefined): void {
  const marker = `${file}.takeover`;
  try {
    writeFileSync(marker, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (ageMs(marker) < 60_000) {
      throw new ConflictError(`another launcher is starting in this run folder (${marker})`);
    }
    rmSync(marker, { force: true });
    return;
  }
  try {
    if (readText(file) === seen) rmSync(file, { force: true });
  } finally {
    rmSync(marker, { force: true });
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // Gone: there is nothing to compare.
    return undefined;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    // Gone meanwhile: as good as old.
    return Number.POSITIVE_INFINITY;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    // Gone or unreadable: nobody we could wait for holds it.
    return undefined;
  }
}

/**
 * Whether `pid`'s process started after `file` was last written, so it cannot be the writer. Read
 * from /proc (Linux); elsewhere unknown, and the pid is trusted.
 */
function startedAfter(pid: number, file: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return false;
    // starttime counts clock ticks since boot; USER_HZ is 100 on every Linux. btime has whole seconds.
    const startedMs = bootSeconds * 1000 + ticks * 10;
    return startedMs > statSync(file).mtimeMs + 2000;
  } catch {
    // No /proc (not Linux) or the process just ended: nothing says the pid was reused.
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists and belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
