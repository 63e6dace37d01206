import { type BvEvent, eventToJson, topics } from '@bitv/shared/events';
import { parseTopic } from '@bitv/shared/sparkplug';
import { Aedes, type AuthorizePublishHandler } from 'aedes';
import { type IHeaders, Kafka, logLevel, type Message, Partitioners } from 'kafkajs';
import { buildRecords } from '../src/bridge/records.js';
import { isUplink, translate } from '../src/bridge/translate.js';

/**
 * The Kafka peer of the benchmark: aedes with no authentication, ACL or decoding, and a bare
 * kafkajs producer (the settings of the gateway's: idempotent, one request in flight, acks=all)
 * writing the same records the gateway writes for each message, PUBACK once Kafka has them. The
 * record of a payload is worked out once, when it is first seen (by our own code, outside the
 * measurement): what is left per message is the least any bridge must do.
 */
export async function startKafkaPeer(brokers: string[], clientId: string) {
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const records = new Map<string, Message>();
  let queue: { message: Message; done: (error?: Error | null) => void }[] = [];
  let sending = false;

  const flush = async () => {
    sending = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      let error: Error | null = null;
      try {
        await producer.send({ topic: topics.telemetry, acks: -1, messages: batch.map((b) => b.message) });
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      for (const b of batch) b.done(error);
    }
    sending = false;
  };

  const authorizePublish: AuthorizePublishHandler = (_client, packet, done) => {
    const payload = packet.payload as Buffer;
    const known = `${packet.topic} ${payload.toString('latin1')}`;
    let message = records.get(known);
    if (!message) {
      message = recordOf(packet.topic, payload);
      records.set(known, message);
    }
    queue.push({ message, done });
    if (!sending) void flush();
  };
  const broker = await Aedes.createBroker({ authorizePublish });
  return {
    broker,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await producer.disconnect();
    },
  };
}

/** The record the gateway writes for this message alone (CloudEvents Kafka binding, as the log does). */
function recordOf(topicText: string, payload: Buffer): Message {
  const topic = parseTopic(topicText);
  if (!topic || !isUplink(topic)) throw new Error(`not an uplink topic: ${topicText}`);
  const t = translate(topic, payload, '/bitv/gateway/bench-peer');
  const [event] = buildRecords(t.events, (o) => o) as [BvEvent];
  const headers: IHeaders = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(eventToJson(event))) {
    if (['data', 'data_base64', 'datacontenttype', 'partitionkey'].includes(name) || value == null) continue;
    headers[`ce_${name}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { key: event.partitionkey as string, value: JSON.stringify(event.data), headers };
}
