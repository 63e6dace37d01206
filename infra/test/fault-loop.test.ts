import { join } from 'node:path';
import { startSimulation } from '@bitv/firmware-sim';
import { gatewayDefaults } from '@bitv/gateway';
import { createEventLog } from '@bitv/shared/event-log';
import { platformEvents, type TelemetryReadings, topics } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import {
  eventually,
  freePort,
  privateKafka,
  serverAvailable,
  tempDir,
  uniqueName,
} from '@bitv/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { cliProcess } from './cli-process.js';
import { startLoopCloud } from './loop-cloud.js';

/** The faults, in this order (bounded: one pass; the operator run did hundreds). */
const FAULTS = [
  'agent SIGKILL',
  'shelf unplug',
  'Kafka stop',
  'cloud SIGKILL',
  'gateway SIGKILL',
  'agent SIGKILL',
] as const;

/**
 * The operator's fault run of issue #18, bounded: every part as its own process where it can be
 * killed (edge agent, gateway on a private Kafka), the simulated shelf over TCP with replay, and
 * the cloud on the same Kafka (its own process too, its database in its own PostgreSQL schema), and the faults above one after another while the shelf streams, with a pick through the
 * simulator's control API after each. At the end every reading the shelf sampled is in Kafka and
 * counted by the cloud (produced / delivered / lost / duplicates printed for both, lost must be 0),
 * and the stock the cloud holds is what the shelf really holds after the picks.
 * The shared Kafka being reachable (CI) is taken as the sign that kafka.sh can run one here too.
 */
describe.skipIf(!(await serverAvailable('kafka')) || !(await serverAvailable('postgres')))(
  'fault loop: agent, gateway, Kafka, shelf, cloud',
  () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    }, 120_000);

    it(`loses no reading through ${FAULTS.join(', ')}`, { timeout: 900_000 }, async () => {
      const dir = await tempDir('bv-fault-loop-');
      cleanups.push(dir.remove);
      const kafka = await privateKafka(join(dir.path, 'kafka'));
      cleanups.push(() => kafka.stop());
      const simulation = await startSimulation(
        {
          shelves: 1,
          bins: 2,
          seed: 11,
          transport: 'tcp',
          tcpHost: '127.0.0.1',
          controlPort: 0,
          replay: true,
        },
        { registry: createRegistry() },
      );
      cleanups.push(() => simulation.close());
      const shelf = simulation.shelves[0]!;

      // What Kafka holds: the copies of every reading of the shelf, by seq.
      const log = await createEventLog({
        kafka: {
          brokers: kafka.brokers,
          clientId: 'fault-loop-check',
          sessionTimeoutMs: 6_000,
          heartbeatIntervalMs: 1_000,
        },
        registry: platformEvents(),
        metrics: createRegistry(),
      });
      cleanups.push(() => log.close());
      const copies = new Map<number, number>();
      const device = `shelf-${shelf.serialNumber}`;
      await log.subscribe({
        group: uniqueName('fault-loop'),
        topics: [topics.telemetry],
        handler: async (event) => {
          if (event.type !== 'bv.telemetry.readings.v1') return;
          const data = event.data as TelemetryReadings;
          if (data.deviceId !== device) return;
          for (const r of data.readings) copies.set(r.seq, (copies.get(r.seq) ?? 0) + 1);
        },
      });

      const gatewayId = uniqueName('gw-fault');
      const cloud = await startLoopCloud({
        dir: dir.path,
        brokers: kafka.brokers,
        siteId: 'demo-site',
        gatewayId,
        shelf: {
          serialNumber: shelf.serialNumber,
          bins: shelf.snapshot().bins.map((b) => ({ unitWeightG: b.unitWeightG, count: b.count })),
        },
      });
      cleanups.push(() => cloud.close());
      const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
      const mqttPort = await freePort();
      const gateway = cliProcess('gateway/src/cli.ts', [], {
        ...inherited,
        KAFKA_BROKERS: kafka.brokers.join(','),
        BV_GATEWAY_HOST: '127.0.0.1',
        BV_GATEWAY_MQTT_PORT: String(mqttPort),
        BV_GATEWAY_WS_PORT: '-1',
        BV_GATEWAY_OPS_PORT: '-1',
        BV_GATEWAY_ALLOW_ANONYMOUS: 'true',
        BV_LOG_LEVEL: 'warn',
      });
      cleanups.push(() => gateway.kill());
      const agent = cliProcess('edge-agent/src/cli.ts', ['run'], {
        ...inherited,
        BV_GROUP_ID: 'demo-site',
        BV_EDGE_NODE_ID: gatewayId,
        BV_PRIMARY_HOST_ID: gatewayDefaults.primaryHostId,
        BV_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
        BV_EDGE_DATA_DIR: join(dir.path, 'edge'),
        BV_EDGE_SERIAL_PORTS: shelf.path,
        BV_EDGE_OPS_PORT: '-1',
        BV_EDGE_RECONNECT_INITIAL_MS: '100',
        BV_EDGE_RECONNECT_MAX_MS: '1000',
        BV_LOG_LEVEL: 'warn',
      });
      cleanups.push(() => agent.kill());
      gateway.start();
      agent.start();

      const sampled = () => shelf.snapshot().counters.readingsSent;
      const flowing = async (what: string) => {
        const target = sampled() + 5;
        await eventually(() => copies.size >= target, what, 180_000).catch((error: unknown) => {
          throw new Error(
            `${String(error)}\n--- gateway ---\n${gateway.output()}\n--- agent ---\n${agent.output()}`,
          );
        });
      };
      const bins = shelf.snapshot().bins.length;
      const seeded = shelf.snapshot().bins.map((b) => b.count);
      let picks = 0;
      const pick = async (bin: number, count: number) => {
        const response = await fetch(
          `${simulation.control?.url}/shelves/${shelf.serialNumber}/bins/${bin}/pick`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ count }),
          },
        );
        expect(response.status).toBeLessThan(300);
      };
      await flowing('readings flowing into Kafka');
      for (const fault of FAULTS) {
        if (fault === 'agent SIGKILL') {
          await agent.kill();
          agent.start();
        } else if (fault === 'gateway SIGKILL') {
          await gateway.kill();
          gateway.start();
        } else if (fault === 'cloud SIGKILL') {
          await cloud.kill();
        } else if (fault === 'Kafka stop') {
          await kafka.stop();
          await kafka.start();
        } else {
          await shelf.unplug();
          await shelf.replug();
        }
        await flowing(`readings flowing again after the ${fault}`);
        // A pick through the simulator's control API, taken while the next fault is coming.
        await pick(picks % bins, 1);
        picks++;
      }

      const produced = sampled();
      await eventually(
        () => Array.from({ length: produced }, (_, i) => i + 1).every((seq) => copies.has(seq)),
        `every one of the ${produced} readings the shelf sampled in Kafka`,
        180_000,
      ).catch(() => undefined); // reported below as lost
      const seqs = Array.from({ length: produced }, (_, i) => i + 1);
      const lost = seqs.filter((seq) => !copies.has(seq));
      const delivered = [...copies.keys()].filter((seq) => seq <= produced).length;
      const duplicates = [...copies.values()].reduce((n, c) => n + c - 1, 0);
      // The cloud: every reading counted, and its stock what the shelf really holds after the picks.
      await eventually(
        async () => {
          const received = await cloud.received();
          return seqs.every((seq) => received.has(seq));
        },
        `every one of the ${produced} readings counted by the cloud`,
        120_000,
      ).catch(() => undefined); // reported below as lost
      const received = await cloud.received();
      const cloudLost = seqs.filter((seq) => !received.has(seq));
      const cloudDuplicates = [...received.values()].reduce((n, c) => n + c - 1, 0);
      const held = () => shelf.snapshot().bins.map((b) => b.count);
      const countsMatch = await eventually(
        async () => JSON.stringify(await cloud.counts()) === JSON.stringify(held()),
        'the cloud counts equal to what the shelf holds',
        60_000,
      ).then(
        () => true,
        () => false,
      );
      console.info(
        [
          `fault loop (${FAULTS.join(', ')}; ${picks} picks):`,
          `  Kafka: produced ${produced} / delivered ${delivered} / lost ${lost.length} / duplicates ${duplicates}`,
          `  cloud: produced ${produced} / counted ${produced - cloudLost.length} / lost ${cloudLost.length} / duplicates ${cloudDuplicates}`,
          `  stock: shelf holds [${held().join(', ')}], cloud shows [${(await cloud.counts()).join(', ')}]`,
        ].join('\n'),
      );
      expect(lost).toEqual([]);
      expect(cloudLost).toEqual([]);
      expect(held()).not.toEqual(seeded); // the picks were made, and the cloud followed them
      expect(countsMatch).toBe(true);
      expect(await cloud.counts()).toEqual(held());
    });
  },
);
