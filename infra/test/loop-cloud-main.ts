/**
 * The fault loop's cloud as its own process, to be SIGKILLed: the same `startCloud` the cloud's CLI
 * runs, on PostgreSQL in the schema the loop gives it and on the loop's Kafka. It also appends the
 * seq of every shelf reading its inventory consumer handled without an error to a file (before
 * the consumer commits the offset, so a kill in between is a redelivery, recorded then).
 * Seeds the shelf the first time (no site yet). Environment: see `startLoopCloud`.
 */
import { appendFileSync } from 'node:fs';
import { startCloud } from '@bitv/cloud';
import { openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents, type TelemetryReadings } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { z } from 'zod';
import type { LoopShelf } from './loop-cloud.js';

const env = z
  .object({
    BV_LOOP_DATABASE_URL: z.string().min(1),
    BV_LOOP_SCHEMA: z.string().min(1),
    BV_LOOP_KAFKA_BROKERS: z.string().min(1),
    BV_LOOP_RECORD_FILE: z.string().min(1),
    BV_LOOP_SEED: z.string().min(1),
  })
  .parse(process.env);
const seed = JSON.parse(env.BV_LOOP_SEED) as { siteId: string; gatewayId: string; shelf: LoopShelf };

const database = await openDatabase({
  url: env.BV_LOOP_DATABASE_URL,
  schema: env.BV_LOOP_SCHEMA,
  poolSize: 4,
});
const log = await createEventLog({
  kafka: { brokers: env.BV_LOOP_KAFKA_BROKERS.split(','), clientId: 'fault-loop-cloud' },
  database,
  registry: platformEvents(),
  metrics: createRegistry(),
});
const device = `shelf-${seed.shelf.serialNumber}`;
const observed: EventLog = {
  kind: log.kind,
  publish: (topic, events) => log.publish(topic, events),
  ping: () => log.ping(),
  consumers: () => log.consumers(),
  close: () => log.close(),
  subscribe: (options) =>
    log.subscribe({
      ...options,
      handler: async (event, context) => {
        await options.handler(event, context);
        if (!options.group.endsWith('.inventory') || event.type !== 'bv.telemetry.readings.v1') return;
        const data = event.data as TelemetryReadings;
        if (data.deviceId !== device || data.readings.length === 0) return;
        appendFileSync(env.BV_LOOP_RECORD_FILE, `${data.readings.map((r) => r.seq).join('\n')}\n`);
      },
    }),
};
const cloud = await startCloud(
  { port: 0, grpcPort: -1 },
  { database, eventLog: observed, logger: silentLogger, registry: createRegistry() },
);
if ((await cloud.services.registry.listSites()).length === 0) {
  await cloud.seedDemo({ siteId: seed.siteId, gatewayId: seed.gatewayId, shelves: [seed.shelf] });
}
process.stdout.write(`loop cloud ready ${process.pid} ${cloud.url}\n`);
