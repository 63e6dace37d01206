import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisUrl, uniqueName } from '@bitv/shared/testing';
import { Redis } from 'ioredis';
import { ControlledEventLog } from '../helpers/event-log.js';
import { testGateway } from '../helpers/gateway.js';

/** A broker the suite runs against: our gateway, or Mosquitto as the reference. */
export interface Target {
  name: 'gateway' | 'gateway on Redis' | 'mosquitto';
  port: number;
  close(): Promise<void>;
}

/** The gateway in-process on port 0, anonymous (the broker-neutral statements need no token). */
export async function gatewayTarget(): Promise<Target> {
  const t = await testGateway({ allowAnonymous: true }, { eventLog: new ControlledEventLog() });
  return { name: 'gateway', port: Number(new URL(t.gw.mqttUrl).port), close: () => t.close() };
}

/**
 * The gateway as a cluster node: sessions, subscriptions, retained messages and wills in Redis
 * (aedes-persistence-redis) instead of memory, under a prefix of its own removed at the end.
 */
export async function clusteredGatewayTarget(): Promise<Target> {
  const prefix = `${uniqueName('bvconf')}:`;
  const t = await testGateway(
    { allowAnonymous: true, redisUrl: redisUrl(), redisPrefix: prefix },
    { eventLog: new ControlledEventLog() },
  );
  return {
    name: 'gateway on Redis',
    port: Number(new URL(t.gw.mqttUrl).port),
    async close() {
      await t.close();
      const redis = new Redis(redisUrl());
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Our own Mosquitto (not the machine's shared one on 1883): a minimal config in a temporary
 * directory, on a free port, in memory. Undefined when there is no mosquitto binary.
 */
export async function mosquittoTarget(
  binary = process.env.MOSQUITTO_BIN ?? 'mosquitto',
): Promise<Target | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'bv-conformance-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  // max_inflight_messages 0 (no in-flight window): Mosquitto 2.0.11 (Debian 12's, the one CI
  // installs) fills its default window of 20 with a burst of QoS 2 messages to a subscriber and
  // then never sends the rest it queued behind them, though every flow completed (its log: 20
  // PUBLISH, 20 PUBREC/PUBREL/PUBCOMP, then nothing; even a later QoS 0 message waits behind
  // them). QoS 1 bursts drain. Without the window the reference sends them all, in order.
  writeFileSync(
    config,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\n`,
  );
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('error', () => {
      exited = true;
      resolve();
    });
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  // it listens within milliseconds; each attempt is a connect, and it stops when the process exits
  while (!exited && !(await accepts(port))) await new Promise((r) => setTimeout(r, 10));
  const close = async () => {
    if (!exited) child.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  };
  if (exited) {
    await close();
    return undefined;
  }
  return { name: 'mosquitto', port, close };
}
