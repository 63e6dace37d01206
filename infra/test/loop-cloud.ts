import { type CloudHandle, startCloud } from '@bitv/cloud';
import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents, type TelemetryReadings } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';

export interface LoopShelf {
  serialNumber: string;
  bins: { unitWeightG: number; count: number }[];
}

export interface LoopCloud {
  /** Copies of each reading seq of the shelf the cloud's inventory consumer handled without an error. */
  received: Map<number, number>;
  /** The stock count of each bin of the shelf, as the cloud holds (and shows) it. */
  counts(): Promise<number[]>;
  /** Its consumers as its /healthz reports them. */
  consumers(): ReturnType<EventLog['consumers']>;
  /** Closes the cloud and starts it again on the same database and log (its groups resume). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The cloud of the fault loop: its consumers on the loop's private Kafka, its database in its own
 * schema on the test PostgreSQL (PGlite when there is none), the shelf seeded with the goods the
 * simulator holds. What reached it is recorded after its inventory consumer's handler succeeded,
 * so a reading counts as delivered only once the cloud has really counted it.
 */
export async function startLoopCloud(input: {
  brokers: string[];
  siteId: string;
  gatewayId: string;
  shelf: LoopShelf;
}): Promise<LoopCloud> {
  const schema = uniqueName('fault_loop');
  const onPostgres = await serverAvailable('postgres');
  const database: Database = onPostgres
    ? await openDatabase({ url: postgresUrl(), schema, poolSize: 4 })
    : await openDatabase();
  const log = await createEventLog({
    kafka: {
      brokers: input.brokers,
      clientId: 'fault-loop-cloud',
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
    },
    database,
    registry: platformEvents(),
    metrics: createRegistry(),
  });
  const received = new Map<number, number>();
  const device = `shelf-${input.shelf.serialNumber}`;
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
          if (data.deviceId !== device) return;
          for (const r of data.readings) received.set(r.seq, (received.get(r.seq) ?? 0) + 1);
        },
      }),
  };
  // One group prefix for both lives of the cloud: the second resumes where the first committed.
  const groupPrefix = uniqueName('fault-loop-cloud');
  const start = () =>
    startCloud(
      { port: 0, grpcPort: -1, consumers: { groupPrefix, fromBeginning: true } },
      { database, eventLog: observed, logger: silentLogger, registry: createRegistry() },
    );
  let cloud: CloudHandle = await start();
  await cloud.seedDemo({ siteId: input.siteId, gatewayId: input.gatewayId, shelves: [input.shelf] });
  return {
    received,
    consumers: () => log.consumers(),
    counts: async () => {
      const { rows } = await sql<{ bin: number; count: number }>`
        SELECT b.bin, b.count FROM bins b JOIN shelves s ON s.id = b.shelf_id
        WHERE s.serial_number = ${input.shelf.serialNumber} ORDER BY b.bin`.execute(database.kysely);
      return rows.map((r) => Number(r.count));
    },
    restart: async () => {
      await cloud.close();
      cloud = await start();
    },
    close: async () => {
      await cloud.close();
      await log.close();
      if (onPostgres) await dropSchema(database, schema);
      await database.close();
    },
  };
}
