import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/bitv-sim.mjs', import.meta.url));

describe('bitv-sim CLI', () => {
  it('--help lists the options and every environment variable with its default', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help'], { timeout: 20_000 });
    expect(stdout).toContain('--scenario <file>');
    expect(stdout).toMatch(/BV_SIM_SPEED\s+.*\[default: 1\]/);
    expect(stdout).toMatch(/BV_SIM_CONTROL_PORT/);
  });

  it('refuses invalid configuration with every problem listed on one line, status 2', async () => {
    const error = await run(process.execPath, [bin, '--shelves', '0', '--speed', 'fast'], {
      timeout: 20_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 2 });
    expect((error as { stderr: string }).stderr).toMatch(
      /^bitv-sim: invalid configuration: BV_SIM_SHELVES.*; BV_SIM_SPEED.*\n$/,
    );
  });
});
