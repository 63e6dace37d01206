import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './platform-process.js';

const run = promisify(execFile);

/** Every command of the platform, as a person starts it, and the package whose version it reports. */
const commands = [
  { name: 'bitv-sim', args: [join(repoRoot, 'firmware-sim/bin/bitv-sim.mjs')], pkg: 'firmware-sim' },
  { name: 'bitv-edge', args: [join(repoRoot, 'edge-agent/bin/bitv-edge.mjs')], pkg: 'edge-agent' },
  { name: 'bitv-gateway', args: [join(repoRoot, 'gateway/bin/bitv-gateway.mjs')], pkg: 'gateway' },
  { name: 'bitv-cloud', args: ['--import', 'tsx', join(repoRoot, 'cloud/src/cli.ts')], pkg: 'cloud' },
  { name: 'bitvelocity', args: ['--import', 'tsx', join(repoRoot, 'infra/src/local/start.ts')], pkg: '.' },
];

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

describe.each(commands)('$name', ({ name, args, pkg }) => {
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
});
