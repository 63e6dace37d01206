import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { createRegistry } from '@bitv/shared/metrics';
import { Kafka, logLevel } from 'kafkajs';

/** The Kafka event log with test-sized timeouts. */
export function kafkaEventLog(brokers: string[]): Promise<EventLog> {
  return createEventLog({
    kafka: {
      brokers,
      clientId: 'gateway-test',
      sendTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      connectionTimeoutMs: 1_000,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      partitions: 3,
    },
    registry: platformEvents(),
    metrics: createRegistry(),
  });
}

/** A private single-node Kafka (own folder and port) that a test may stop and start. */
export { privateKafka } from '@bitv/shared/testing';

export interface KafkaRecord {
  key: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  value: string;
}

/**
 * Reads the records of `topic` whose key passes `keep`, starting at the given offsets per
 * partition (default: the beginning), until `done` says enough or the time is up.
 */
export async function readRecords(
  brokers: string[],
  topic: string,
  keep: (key: string) => boolean,
  done: (records: KafkaRecord[]) => boolean,
  options: { from?: Map<number, string>; timeoutMs?: number } = {},
): Promise<KafkaRecord[]> {
  const kafka = new Kafka({ brokers, clientId: 'gateway-test-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `reader-${Date.now()}-${Math.random()}`,
    sessionTimeout: 6_000,
  });
  const records: KafkaRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finished: () => void = () => undefined;
    const complete = new Promise<void>((r) => {
      finished = r;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const from = options.from?.get(partition);
        if (from !== undefined && BigInt(message.offset) < BigInt(from)) return;
        const key = message.key?.toString() ?? '';
        if (!keep(key)) return;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        records.push({
          key,
          partition,
          offset: message.offset,
          headers,
          value: message.value?.toString() ?? '',
        });
        if (done(records)) finished();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      complete,
      new Promise<void>((r) => {
        timer = setTimeout(r, options.timeoutMs ?? 30_000);
      }),
    ]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** The next offset of each partition (the high watermark): what a new record would get. */
export async function endOffsets(brokers: string[], topic: string): Promise<Map<number, string>> {
  const kafka = new Kafka({ brokers, clientId: 'gateway-test-admin', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return new Map();
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  } finally {
    await admin.disconnect();
  }
}
