import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { UnauthenticatedError } from '@bitv/shared/errors';
import { silentLogger } from '@bitv/shared/log';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgeAgentHandle } from '../src/agent.js';
import { loadEdgeConfig } from '../src/config.js';
import { startCredentialRotation } from '../src/credential.js';
import { Outbox } from '../src/outbox/index.js';
import { provision } from '../src/provision.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/bitv-edge.mjs', import.meta.url));

describe('bitv-edge CLI and config', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('prints help with every setting', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    expect(stdout).toMatch(/bitv-edge run \[--config <file>\]/);
    expect(stdout).toMatch(/BV_EDGE_DURABILITY/);
    expect(stdout).toMatch(/BV_EDGE_OUTBOX_POLICY/);
  }, 30_000);

  it('reads a config file with env overrides and refuses unknown keys', async () => {
    const dir = await tempDir('bv-edge-cfg-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'edge.json');
    writeFileSync(
      file,
      JSON.stringify({ edgeNodeId: 'gw-file', serialPorts: ['/dev/a', '/dev/b'], maxInFlight: 4 }),
    );
    const c = loadEdgeConfig(file, { BV_EDGE_MAX_IN_FLIGHT: '8' });
    expect(c).toMatchObject({
      edgeNodeId: 'gw-file',
      serialPorts: ['/dev/a', '/dev/b'],
      maxInFlight: 8,
      durability: 'normal',
    });
    writeFileSync(file, JSON.stringify({ edgeNodeID: 'typo' }));
    expect(() => loadEdgeConfig(file, {})).toThrow(/unknown key edgeNodeID/);
    writeFileSync(file, JSON.stringify({ durability: 'sometimes' }));
    expect(() => loadEdgeConfig(file, {})).toThrow(/BV_EDGE_DURABILITY/);
  });

  it('reports queue depth, oldest unsent and drops from the outbox when the agent is not running', async () => {
    const dir = await tempDir('bv-edge-status-');
    cleanups.push(dir.remove);
    const outbox = Outbox.open({
      path: join(dir.path, 'outbox.db'),
      durability: 'normal',
      policy: 'drop-oldest',
      maxRows: 3,
      maxBytes: 1e9,
      maxAgeMs: 1e9,
    });
    outbox.append(
      'shelf-A',
      Array.from({ length: 5 }, (_, i) => ({
        timeMs: Date.now() - 60_000 + i,
        bins: [{ bin: 0, weightG: i }],
      })),
    );
    outbox.close();
    const { stdout } = await run(process.execPath, [bin, 'status', '--json'], {
      env: { ...process.env, BV_EDGE_DATA_DIR: dir.path, BV_EDGE_OPS_PORT: '-1' },
    });
    const s = JSON.parse(stdout) as {
      running: boolean;
      outbox: { depth: number; droppedTotal: number; oldestUnsentAgeMs: number };
    };
    expect(s).toMatchObject({ running: false, outbox: { depth: 3, droppedTotal: 2 } });
    expect(s.outbox.oldestUnsentAgeMs).toBeGreaterThanOrEqual(59_000);
  }, 30_000);

  it('provisions through the cloud API and writes the config; a bad token is not retried', async () => {
    const dir = await tempDir('bv-edge-prov-');
    cleanups.push(dir.remove);
    const calls: { url: string; body: Record<string, unknown> }[] = [];
    const server: Server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => {
        text += d.toString();
      });
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        calls.push({ url: req.url ?? '', body });
        if (body.claimToken !== 'good') {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end(
            JSON.stringify({ error: { code: 'unauthenticated', message: 'unknown claim token' } }),
          );
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            gatewayId: 'gw-9',
            groupId: 'site-9',
            edgeNodeId: 'gw-9',
            credential: 'jwt.jwt.jwt',
            credentialExpiresAt: '2030-01-01T00:00:00.000Z',
            brokerUrl: 'mqtt://127.0.0.1:18830',
            primaryHostId: 'bv-cloud',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const cloudUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const configFile = join(dir.path, 'edge.json');
    writeFileSync(configFile, JSON.stringify({ serialPorts: ['/dev/ttyUSB0'] }));
    const r = await provision({ claimToken: 'good', cloudUrl, configFile, dataDir: join(dir.path, 'data') });
    expect(r.edgeNodeId).toBe('gw-9');
    expect(calls[0]).toMatchObject({ url: '/api/v1/provision', body: { claimToken: 'good' } });
    const written = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({
      serialPorts: ['/dev/ttyUSB0'],
      edgeNodeId: 'gw-9',
      credential: 'jwt.jwt.jwt',
      cloudUrl,
    });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(loadEdgeConfig(configFile, {})).toMatchObject({
      groupId: 'site-9',
      brokerUrl: 'mqtt://127.0.0.1:18830',
      mqttUsername: 'gw-9',
    });
    await expect(provision({ claimToken: 'bad', cloudUrl })).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(calls.filter((c) => c.body.claimToken === 'bad')).toHaveLength(1);
  });

  it('rotates the credential before it expires and hands it to the running agent', async () => {
    const dir = await tempDir('bv-edge-rot-');
    cleanups.push(dir.remove);
    const seen: { url: string; auth: string | undefined }[] = [];
    const server: Server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            gatewayId: 'gw-r',
            groupId: 'site-r',
            edgeNodeId: 'gw-r',
            credential: 'new.jwt.value',
            credentialExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
            brokerUrl: 'mqtt://127.0.0.1:18831',
            primaryHostId: 'bv-cloud',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const cloudUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const configFile = join(dir.path, 'edge.json');
    writeFileSync(configFile, JSON.stringify({ edgeNodeId: 'gw-r', credential: 'old.jwt.value', cloudUrl }));
    const config = {
      ...loadEdgeConfig(configFile, {}),
      credentialExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const handed: string[] = [];
    const agent = { setCredential: (c: string) => handed.push(c) } as unknown as EdgeAgentHandle;
    const rotation = startCredentialRotation(config, configFile, agent, silentLogger);
    cleanups.push(async () => rotation.stop());
    await eventually(() => handed.length === 1, 'credential handed to the agent');
    expect(handed).toEqual(['new.jwt.value']);
    expect(seen[0]).toEqual({ url: '/api/v1/gateways/gw-r/credential/rotate', auth: 'Bearer old.jwt.value' });
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toMatchObject({
      credential: 'new.jwt.value',
      edgeNodeId: 'gw-r',
    });
  });
});
