import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '@bitv/shared/cli';
import { createLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import BetterSqlite3 from 'better-sqlite3';
import { startEdgeAgent } from './agent.js';
import { edgeConfigSpec, loadEdgeConfig } from './config.js';
import { startCredentialRotation } from './credential.js';
import { reportHealthyWhenOnline } from './ota/health.js';
import { EXIT_RESTART } from './ota/supervisor.js';
import { provision } from './provision.js';
import { agentVersion } from './version.js';

const usage = `bitv-edge ${agentVersion}: the BitVelocity edge agent (shelves -> SQLite outbox -> MQTT Sparkplug B)

Usage:
  bitv-edge run [--config <file>]            run the agent (config file, then environment overrides)
  bitv-edge status [--config <file>] [--json] link state, queue depth, oldest unsent reading, drops
  bitv-edge provision --claim <token> --cloud <url> [--config <file>] [--data-dir <dir>]
                                             claim this gateway's identity and write the config file
  bitv-edge --help | --version

Exit status: 2 for bad configuration or arguments, 1 when it cannot start or a command fails,
each with one line on stderr.

The config file is JSON with the keys below in camelCase (e.g. {"edgeNodeId": "gw-1",
"serialPorts": ["/dev/ttyUSB0"]}); each environment variable overrides its key.
BV_EDGE_CONFIG may name the config file instead of --config.

Settings (config file key, environment variable, meaning, default):
${Object.entries(edgeConfigSpec)
  .map(
    ([key, s]) =>
      `  ${key.padEnd(24)} ${s.env.padEnd(34)} ${s.description} [default: ${s.default ?? '(unset)'}]`,
  )
  .join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      claim: { type: 'string' },
      cloud: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command || command === 'help') return print(usage);
  const configFile = values.config ?? process.env.BV_EDGE_CONFIG;
  switch (command) {
    case 'run':
      return run(configFile);
    case 'status':
      return status(configFile, values.json ?? false);
    case 'provision': {
      if (!values.claim || !values.cloud) {
        process.stderr.write('bitv-edge: provision needs --claim <token> and --cloud <url>\n');
        return 2;
      }
      const file = configFile ?? 'bitv-edge.json';
      const r = await provision({
        claimToken: values.claim,
        cloudUrl: values.cloud,
        configFile: file,
        ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      });
      return print(
        `provisioned ${r.edgeNodeId} in group ${r.groupId}; broker ${r.brokerUrl}; config written to ${file}`,
      );
    }
    default:
      process.stderr.write(`bitv-edge: unknown command ${command} (see --help)\n`);
      return 2;
  }
}

function print(text: string): number {
  process.stdout.write(`${text.trimEnd()}\n`);
  return 0;
}

async function run(configFile: string | undefined): Promise<number> {
  const config = loadEdgeConfig(configFile, process.env);
  // The agent adds `edgeNodeId` to every line itself.
  const logger = createLogger('edge-agent', { level: config.logLevel });
  const registry = createRegistry({ defaultMetrics: true });
  let restart: (() => void) | undefined;
  const restartRequested = new Promise<void>((resolve) => {
    restart = resolve;
  });
  const agent = await startEdgeAgent(config, { logger, registry, requestRestart: () => restart?.() });
  const rotation = startCredentialRotation(config, configFile, agent, logger);
  const trial = config.updateDir
    ? reportHealthyWhenOnline(agent, config.updateDir, agentVersion, logger)
    : undefined;
  const reason = await new Promise<'signal' | 'restart'>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      resolve('signal');
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    void restartRequested.then(() => {
      logger.info('stopping to restart into the updated version');
      resolve('restart');
    });
  });
  rotation.stop();
  trial?.stop();
  await agent.close();
  // The supervisor starts `current` again at once on this status (docs/ota.md).
  return reason === 'restart' ? EXIT_RESTART : 0;
}

async function status(configFile: string | undefined, json: boolean): Promise<number> {
  const config = loadEdgeConfig(configFile, process.env);
  if (config.opsPort > 0) {
    try {
      const r = await fetch(`http://${config.opsHost}:${config.opsPort}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      const report = (await r.json()) as { checks: Record<string, unknown> };
      if (json) return print(JSON.stringify(report.checks, null, 2));
      return print(formatStatus(report.checks as unknown as LiveStatus));
    } catch {
      // Not running (or ops server off): fall back to reading the outbox file below.
    }
  }
  const path = join(config.dataDir, 'outbox.db');
  if (!existsSync(path)) return print(`agent not running; no outbox at ${path}`);
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const q = db.prepare('SELECT COUNT(*) AS depth, MIN(time_ms) AS oldest FROM readings').get() as {
      depth: number;
      oldest: number | null;
    };
    const dropped = db.prepare("SELECT value FROM kv WHERE key = 'dropped_total'").get() as
      | { value: string }
      | undefined;
    const out = {
      running: false,
      outbox: {
        depth: q.depth,
        oldestUnsentAgeMs: q.oldest === null ? null : Date.now() - q.oldest,
        droppedTotal: Number(dropped?.value ?? 0),
      },
    };
    return print(
      json
        ? JSON.stringify(out, null, 2)
        : `agent not running\nqueue depth: ${out.outbox.depth}\noldest unsent: ${age(out.outbox.oldestUnsentAgeMs)}\ndropped: ${out.outbox.droppedTotal}`,
    );
  } finally {
    db.close();
  }
}

interface LiveStatus {
  edgeNodeId: string;
  uplink: { state: string; hostOnline: boolean | null; inFlight: number; sessions: number };
  links: { link: string; up: boolean; devices: string[] }[];
  outbox: { depth: number; oldestUnsentAgeMs: number | null; droppedTotal: number; gapsUnreported: number };
}

function formatStatus(s: LiveStatus): string {
  const links = s.links.map((l) => `  ${l.link}: ${l.up ? 'up' : 'down'} ${l.devices.join(', ')}`).join('\n');
  return [
    `edge node: ${s.edgeNodeId}`,
    `uplink: ${s.uplink.state} (primary host ${s.uplink.hostOnline === null ? 'not awaited' : s.uplink.hostOnline ? 'online' : 'offline'}, in flight ${s.uplink.inFlight}, sessions ${s.uplink.sessions})`,
    `links:\n${links || '  (none)'}`,
    `queue depth: ${s.outbox.depth}`,
    `oldest unsent: ${age(s.outbox.oldestUnsentAgeMs)}`,
    `dropped: ${s.outbox.droppedTotal} (gap events not yet reported: ${s.outbox.gapsUnreported})`,
  ].join('\n');
}

function age(ms: number | null): string {
  return ms === null ? 'none' : `${(ms / 1000).toFixed(1)} s ago`;
}

runCli({ name: 'bitv-edge', version: agentVersion }, main);
