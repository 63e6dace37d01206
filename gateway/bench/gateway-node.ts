import { createServer } from 'node:net';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import { Aedes } from 'aedes';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { startGateway } from '../src/start.js';
import { startKafkaPeer } from './kafka-peer.js';
import { DiscardingEventLog } from './null-log.js';
import { type Stage, stageBroker } from './stages.js';

/**
 * One gateway node for the benchmark, in its own process (forked with an IPC channel): started
 * from a JSON argument, it answers `memory` (after a full GC) and `close` messages.
 */
interface NodeArgs {
  nodeId: string;
  brokers: string[];
  jwks: JSONWebKeySet;
  issuer: string;
  redisUrl?: string;
  redisPrefix?: string;
  /** Discard instead of Kafka: measures the broker path alone. */
  discard?: boolean;
  /** aedes with no hooks at all (no authentication, ACL or bridge): the library's own ceiling. */
  bare?: boolean;
  /** aedes with a bare kafkajs producer writing the gateway's records, PUBACK after Kafka: the Kafka peer. */
  peer?: boolean;
  /** One step of the bisection between aedes alone and the gateway (stages.ts). */
  stage?: Stage;
}

const args = JSON.parse(process.argv[2] ?? '{}') as NodeArgs;
const send = (message: object) => process.send?.(message);

const registry = createRegistry();
const node = args.peer
  ? await startPeer()
  : args.bare
    ? await startBare()
    : args.stage
      ? await startStage(args.stage)
      : await startNode();

async function startNode() {
  const eventLog = args.discard
    ? new DiscardingEventLog()
    : await createEventLog({
        kafka: { brokers: args.brokers, clientId: `bench-${args.nodeId}` },
        registry: platformEvents(),
        metrics: registry,
      });
  const gateway = await startGateway(
    {
      nodeId: args.nodeId,
      mqttPort: 0,
      wsPort: -1,
      opsPort: -1,
      jwtIssuer: args.issuer,
      redisUrl: args.redisUrl,
      redisPrefix: args.redisPrefix ?? 'bv:gateway:',
      logLevel: 'silent',
    },
    { eventLog, registry, keys: createLocalJWKSet(args.jwks) },
  );
  return {
    port: Number(new URL(gateway.mqttUrl).port),
    async close() {
      await gateway.close();
      await eventLog.close();
    },
  };
}

async function startBare() {
  return listen(await Aedes.createBroker(), async () => {});
}

async function startStage(stage: Stage) {
  const s = await stageBroker(stage, createLocalJWKSet(args.jwks), args.issuer, registry);
  return listen(s.broker, s.close);
}

async function startPeer() {
  const peer = await startKafkaPeer(args.brokers, `bench-peer-${args.nodeId}`);
  return listen(peer.broker, () => peer.close());
}

async function listen(broker: Aedes, close: () => Promise<void>) {
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      server.close();
      await close();
      if (!broker.closed) await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

process.on('message', async (message: { cmd: string }) => {
  if (message.cmd === 'memory') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    send({ cmd: 'memory', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
  } else if (message.cmd === 'close') {
    await node.close();
    send({ cmd: 'closed' });
    process.exit(0);
  }
});

send({ cmd: 'ready', port: node.port, pid: process.pid });
