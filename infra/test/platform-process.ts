import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@bitv/shared/testing';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface PlatformInfo {
  dashboardUrl: string;
  mqttUrl: string;
  simControlUrl: string;
  database: 'pglite' | 'postgres';
  eventLog: 'database' | 'kafka';
  shelves: { deviceId: string; serialNumber: string; path: string; bins: number }[];
}

export interface RunningPlatform {
  info: PlatformInfo;
  output: () => string;
  /** Sends SIGINT like Ctrl-C and resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Starts the platform exactly as `npm start` does (the same script, as a separate process) on
 * free ports and a temporary run folder, and waits for the `platform.json` it writes.
 */
export async function startPlatformProcess(
  runDir: string,
  env: Record<string, string>,
  /** How long the start may take; a loaded 2-core machine has needed over 100 s. */
  startTimeoutMs = 90_000,
): Promise<RunningPlatform> {
  let output = '';
  // The embedded defaults, as on a fresh machine: the test run's own servers (CI exports
  // KAFKA_BROKERS for the contract suites) must not turn this into a production-mode start.
  const { KAFKA_BROKERS: _kafka, DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'infra/src/local/start.ts'], {
    cwd: repoRoot,
    env: {
      ...inherited,
      BV_RUN_DIR: runDir,
      BV_HTTP_PORT: '0',
      BV_GRPC_PORT: '0',
      BV_GATEWAY_MQTT_PORT: '0',
      BV_GATEWAY_WS_PORT: '0',
      BV_SIM_CONTROL_PORT: '0',
      BV_BANK_PORT: '0',
      BV_REST_PAY_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const info = await eventually(
    async () => {
      if (exitCode !== undefined) throw new Error(`platform exited with ${exitCode}:\n${output}`);
      if (!output.includes('BitVelocity is running.')) return undefined;
      return JSON.parse(await readFile(join(runDir, 'platform.json'), 'utf8')) as PlatformInfo;
    },
    'the platform to start',
    startTimeoutMs,
    200,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${String(error)}\n--- platform output ---\n${output}`);
  });
  return {
    info,
    output: () => output,
    stop: async () => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
