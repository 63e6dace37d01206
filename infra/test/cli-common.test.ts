import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './platform-process.js';

const run = promisify(execFile);

/** Every command of the platform, as a person starts it, and the package whose version it reports. */
const commands = [
  {
    name: 'bitv-sim',
    args: [join(repoRoot, 'firmware-sim/bin/bitv-sim.mjs')],
    pkg: 'firmware-sim',
    portEnv: 'BV_SIM_CONTROL_PORT',
  },
  {
    name: 'bitv-edge',
    args: [join(repoRoot, 'edge-agent/bin/bitv-edge.mjs')],
    pkg: 'edge-agent',
    portEnv: 'BV_EDGE_OPS_PORT',
  },
  {
    name: 'bitv-gateway',
    args: [join(repoRoot, 'gateway/bin/bitv-gateway.mjs')],
    pkg: 'gateway',
    portEnv: 'BV_GATEWAY_MQTT_PORT',
  },
  {
    name: 'bitv-cloud',
    args: ['--import', 'tsx', join(repoRoot, 'cloud/src/cli.ts')],
    pkg: 'cloud',
    portEnv: 'BV_HTTP_PORT',
  },
  {
    name: 'bitvelocity',
    args: ['--import', 'tsx', join(repoRoot, 'infra/src/local/start.ts')],
    pkg: '.',
    portEnv: 'BV_HTTP_PORT',
  },
];

/** Every other listener of every command on a free port, so only the one under test collides. */
const freePorts = {
  BV_SIM_CONTROL_PORT: '0',
  BV_EDGE_OPS_PORT: '0',
  BV_GATEWAY_MQTT_PORT: '0',
  BV_GATEWAY_WS_PORT: '-1',
  BV_GATEWAY_OPS_PORT: '-1',
  BV_HTTP_PORT: '0',
  BV_GRPC_PORT: '0',
  BV_BANK_PORT: '0',
  BV_REST_PAY_PORT: '0',
};

/** Runs a command to its end; resolves with its status and output whatever the status. */
async function outcome(args: string[], env: Record<string, string> = {}) {
  const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
  return run(process.execPath, args, { cwd: repoRoot, env: { ...inherited, ...env }, timeout: 90_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe.each(commands)('$name', ({ name, args, pkg, portEnv }) => {
  it('answers --version with its name and its package.json version', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, pkg, 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = await outcome([...args, '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${name} ${version}\n` });
  }, 120_000);

  it('refuses bad configuration with one line (no stack trace) and status 2', async () => {
    const r = await outcome(
      [...args, ...(name === 'bitv-edge' ? ['run'] : [])],
      // A level no process knows: every command reads BV_LOG_LEVEL before it starts anything.
      { BV_LOG_LEVEL: 'loudest', BV_RUN_DIR: join(tmpdir(), 'bv-never-created') },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${name}: invalid configuration: .*BV_LOG_LEVEL="loudest".*\\n$`));
  }, 120_000);

  it('ends with one line naming the port and status 1 when its port is taken (no hang)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const dir = await tempDir('bv-cli-port-');
    try {
      const r = await outcome([...args, ...(name === 'bitv-edge' ? ['run'] : [])], {
        ...freePorts,
        [portEnv]: String(port),
        BV_RUN_DIR: dir.path,
        BV_SIM_DIR: dir.path,
        BV_EDGE_DATA_DIR: dir.path,
        BV_GATEWAY_ALLOW_ANONYMOUS: 'true',
        BV_DEMO_SHELVES: '1',
        BV_DEMO_BINS: '1',
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`(^|\n)${name}: cannot listen on 127.0.0.1:${port}: the port is in use.*\n$`),
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
      await dir.remove();
    }
  }, 150_000);
});

describe('bitv-cloud', () => {
  it('names a taken gRPC port like any other (one line, status 1)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const r = await outcome(['--import', 'tsx', join(repoRoot, 'cloud/src/cli.ts')], {
        BV_HTTP_PORT: '0',
        BV_GRPC_PORT: String(port),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`(^|\\n)bitv-cloud: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use.*\\n$`),
      );
    } finally {
      holder.close();
    }
  }, 150_000);
});
