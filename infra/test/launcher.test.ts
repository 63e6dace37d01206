import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { serverAvailable, tempDir, uniqueName } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, repoRoot, startPlatformProcess } from './platform-process.js';

/** A pid no process has any more (started, then waited for): what a crashed launcher leaves. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

/** What the run folder's tty/ holds (the shelves' serial links and their helpers), by inode and target. */
async function links(runDir: string): Promise<Record<string, string>> {
  const dir = join(runDir, 'tty');
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const entry = await lstat(join(dir, name));
    out[name] = `${entry.ino} ${entry.isSymbolicLink() ? await readlink(join(dir, name)) : 'file'}`;
  }
  return out;
}

function tcpAnswers(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start: one launcher per run folder, gRPC port', () => {
  let platform: RunningPlatform;
  let runDir: string;
  let removeRunDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir('bv-launcher-');
    runDir = dir.path;
    removeRunDir = dir.remove;
    // A pid file from a crashed run: taken over, not an obstacle.
    await writeFile(join(runDir, 'platform.pid'), `${await deadPid()}\n`);
    platform = await startPlatformProcess(runDir, { BV_DEMO_SHELVES: '2', BV_DEMO_BINS: '2' });
  }, 150_000);

  afterAll(async () => {
    const code = await platform?.stop();
    await removeRunDir?.();
    expect(code).toBe(0);
  }, 60_000);

  it('opens the cloud gRPC port, prints it and records it', async () => {
    const info = JSON.parse(await readFile(join(runDir, 'platform.json'), 'utf8')) as { grpcUrl?: string };
    expect(info.grpcUrl).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(platform.output()).toContain(`gRPC             ${info.grpcUrl}`);
    expect(await tcpAnswers(info.grpcUrl as string)).toBe(true);
    expect(platform.output()).toContain('Broker cluster   single node');
  });

  it('a second start in the same folder says "already running (pid N)", exits non-zero and touches nothing', async () => {
    const { pid } = JSON.parse(await readFile(join(runDir, 'platform.json'), 'utf8')) as { pid: number };
    expect(await readFile(join(runDir, 'platform.pid'), 'utf8')).toBe(`${pid}\n`);
    const linksBefore = await links(runDir);
    expect(Object.values(linksBefore).filter((l) => !l.endsWith(' file'))).toHaveLength(2);
    const logBefore = await stat(join(runDir, 'platform.log'));

    const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
    const second = spawn(process.execPath, ['--import', 'tsx', 'infra/src/local/start.ts'], {
      cwd: repoRoot,
      env: {
        ...inherited,
        BV_RUN_DIR: runDir,
        BV_HTTP_PORT: '0',
        BV_GRPC_PORT: '0',
        BV_GATEWAY_MQTT_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    second.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    second.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // Not a timing assertion: only how long a second launcher that does not stop is waited for.
    const hung = setTimeout(() => second.kill('SIGKILL'), 90_000);
    const [code, signal] = (await once(second, 'exit')) as [number | null, string | null];
    clearTimeout(hung);
    expect(signal).toBeNull();
    expect(code).toBe(1);
    expect(output).toContain(`bitvelocity: already running (pid ${pid})`);
    expect(output).not.toMatch(/\n\s+at /);

    // The first one's files are intact and it still serves.
    expect(await links(runDir)).toEqual(linksBefore);
    expect(await readFile(join(runDir, 'platform.pid'), 'utf8')).toBe(`${pid}\n`);
    expect((await stat(join(runDir, 'platform.log'))).ino).toBe(logBefore.ino);
    expect((await fetch(`${platform.info.dashboardUrl}/healthz`)).status).toBe(200);
  }, 120_000);
});

describe.skipIf(!(await serverAvailable('redis')))('npm start with REDIS_URL', () => {
  it('runs the gateway as a member of a broker cluster on Redis and says so', async () => {
    const dir = await tempDir('bv-launcher-redis-');
    try {
      const platform = await startPlatformProcess(dir.path, {
        REDIS_URL: 'redis://127.0.0.1:6379',
        // Its own cluster: other tests' gateways share this Redis.
        BV_GATEWAY_REDIS_PREFIX: `${uniqueName('bv-launcher')}:`,
        BV_GRPC_PORT: '-1',
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '1',
      });
      const info = JSON.parse(await readFile(join(dir.path, 'platform.json'), 'utf8')) as {
        cluster: string;
        grpcUrl?: string;
      };
      expect(info.cluster).toBe('redis');
      expect(info.grpcUrl).toBeUndefined();
      expect(platform.output()).toContain('Broker cluster   on Redis at redis://127.0.0.1:6379');
      expect(platform.output()).toContain('gRPC             (off: BV_GRPC_PORT=-1)');
      expect(await platform.stop()).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 180_000);
});
