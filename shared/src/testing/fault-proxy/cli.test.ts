import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const node = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', cli, ...args], { timeout: 60_000 });

describe('bitv-fault-proxy command', () => {
  it('prints its usage with --help and exits 0', async () => {
    const { stdout } = await node(['--help']);
    expect(stdout).toContain('Usage: npm run fault-proxy -w shared -- --upstream <host:port>');
    expect(stdout).toContain('reset_peer');
  }, 60_000);

  it('refuses bad arguments with one line and status 2', async () => {
    const failure = await node(['--upstream', '127.0.0.1:1', '--toxic', 'meteor=x=1']).catch(
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect(await node(['--port', '1']).catch((e: unknown) => (e as { code: number }).code)).toBe(2);
  }, 60_000);

  it('proxies with its toxics and serves the control API until SIGTERM', async () => {
    const upstream = createServer((s) => s.on('error', () => {}).pipe(s));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as { port: number }).port;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        '--upstream',
        `127.0.0.1:${port}`,
        '--api-port',
        '0',
        '--toxic',
        'latency=latency=10',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const started = JSON.parse(line.toString()) as {
        listening: string;
        api: string;
        toxics: Array<{ name: string }>;
      };
      expect(started.toxics.map((t) => t.name)).toEqual(['latency_downstream']);
      const health = await fetch(`${started.api}/healthz`);
      expect(await health.json()).toEqual({ ok: true, enabled: true });
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      upstream.close();
    }
  }, 60_000);
});
