import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `socat` pseudo-terminal pair: the shelf opens `devicePath`, the agent opens `hostPath`. */
export interface PtyPair {
  hostPath: string;
  devicePath: string;
  stop(): Promise<void>;
}

export async function startPtyPair(dir: string, name: string): Promise<PtyPair> {
  const devicePath = join(dir, `${name}.dev`);
  const hostPath = join(dir, `${name}.host`);
  const child: ChildProcess = spawn(
    'socat',
    [`pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !(existsSync(devicePath) && existsSync(hostPath)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!existsSync(hostPath)) throw new Error('socat did not create the pty pair');
  return {
    hostPath,
    devicePath,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
