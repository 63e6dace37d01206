import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, unlink } from 'node:fs/promises';
import { UnavailableError } from '@bitv/shared';

export interface SocatPair {
  process: ChildProcess;
  /** Resolves when socat has exited. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false; // ENOENT: not there yet
  }
}

/**
 * Starts `socat pty,link=a pty,link=b`: two pseudo-terminals wired back to back, each with a
 * stable symlink. Resolves once both links exist (bounded by `timeoutMs`); socat is killed if
 * they never appear.
 */
export async function startSocatPair(
  deviceLink: string,
  hostLink: string,
  timeoutMs = 5000,
): Promise<SocatPair> {
  // Stale links from a crashed run would make socat fail or the host open a dead pty.
  for (const p of [deviceLink, hostLink]) await unlink(p).catch(() => undefined); // absent is fine
  // socat runs under a small shell that also kills it when our stdin pipe closes, so a crashed
  // simulator (or a test worker killed on timeout) never leaves socat processes behind. The
  // shell and socat share a new process group, which `stop` can kill as a whole.
  const watchdog = 'exec 3<&0; socat "$@" & p=$!; (read _ <&3; kill $p 2>/dev/null) & wait $p';
  const child = spawn(
    'sh',
    [
      '-c',
      watchdog,
      'socat',
      '-d',
      '-d',
      `pty,raw,echo=0,link=${deviceLink}`,
      `pty,raw,echo=0,link=${hostLink}`,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d;
  });
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  let gone = false;
  child.stdin?.on('error', () => undefined); // EPIPE once the shell is gone; exit is watched below
  void exited.then(() => {
    gone = true;
    child.stdin?.destroy();
  });
  const stop = async () => {
    if (!gone) {
      child.stdin?.end(); // the watchdog kills socat (SIGTERM: it removes its links) and exits
      const killed = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }, 2000);
      await exited;
      clearTimeout(killed);
    }
    // socat removes its links on a clean exit; after SIGKILL it cannot.
    for (const p of [deviceLink, hostLink]) await unlink(p).catch(() => undefined);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) {
      throw new UnavailableError(
        `socat exited before creating ${hostLink}: ${spawnError?.message ?? stderr.trim()}`,
      );
    }
    if ((await exists(deviceLink)) && (await exists(hostLink))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new UnavailableError(`socat did not create ${hostLink} within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { process: child, exited, stop };
}
