import { type Admin, Kafka, KafkaJSProtocolError, logLevel, Partitioners } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { type BvEvent, deadLetterTopic, EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { eventually, kafkaBrokers, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventLogContract } from './contract.js';
import { contractEvent, makeEvent } from './contract-events.js';
import { createEventLog } from './create.js';
import { toKafkaMessage } from './kafka/codec.js';

// The production log on the real broker (KAFKA_BROKERS). Timeouts are lowered so the suite is
// quick: the broker's smallest session timeout (group.min.session.timeout.ms, 6000 ms) bounds how
// long the kill test waits for the dead consumer to leave the group.
const tuning = {
  partitions: 6,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
  requestTimeoutMs: 10_000,
  sendTimeoutMs: 20_000,
  joinTimeoutMs: 30_000,
};

describeEventLogContract(
  'kafka',
  async () => {
    const brokers = kafkaBrokers();
    const kafka = { brokers, clientId: uniqueName('bv-contract'), ...tuning };
    return {
      open: ({ registry, metrics }) => createEventLog({ kafka, registry, metrics }),
      child: { kafka },
      close: async () => undefined,
    };
  },
  { skip: !(await serverAvailable('kafka')) },
);

describe.skipIf(!(await serverAvailable('kafka')))('kafka event log: a topic just created', () => {
  it('rides out a topic missing from the metadata for a moment (a fresh broker), instead of failing subscribe', async () => {
    const topic = uniqueName('kafka.fresh');
    const log = await createEventLog({
      kafka: { brokers: kafkaBrokers(), clientId: uniqueName('bv-fresh'), ...tuning },
      registry: new EventRegistry([contractEvent(topic)]),
      metrics: createRegistry(),
    });
    try {
      // What a fresh private Kafka answered while the fault loop's cloud started (kafkajs waits
      // for leaders retrying LEADER_NOT_AVAILABLE only): once, then the real call.
      const admin = (log as unknown as { admin: Admin }).admin;
      const create = admin.createTopics.bind(admin);
      const spy = vi
        .spyOn(admin, 'createTopics')
        .mockRejectedValueOnce(
          new KafkaJSProtocolError(
            // The shape kafkajs builds from the broker's error code 3 (its types name only Error).
            Object.assign(new Error('This server does not host this topic-partition'), {
              type: 'UNKNOWN_TOPIC_OR_PARTITION',
              code: 3,
              retriable: true,
            }),
          ),
        )
        .mockImplementation(create);
      const sub = await log.subscribe({
        group: uniqueName('group.fresh'),
        topics: [topic],
        handler: async () => {},
      });
      expect(spy).toHaveBeenCalledTimes(2);
      await sub.close();
    } finally {
      await log.close();
    }
  });
});

describe.skipIf(!(await serverAvailable('kafka')))('kafka event log: records from outside', () => {
  it('dead-letters records that are not valid events, counts them, and keeps consuming', async () => {
    const topic = uniqueName('kafka.raw');
    const definition = contractEvent(topic);
    const metrics = createRegistry();
    const log = await createEventLog({
      kafka: { brokers: kafkaBrokers(), clientId: uniqueName('bv-raw'), ...tuning },
      registry: new EventRegistry([definition]),
      metrics,
    });
    const kafka = new Kafka({ clientId: 'raw-writer', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    try {
      const got: number[] = [];
      const dead: BvEvent[] = [];
      const group = uniqueName('group.raw');
      const sub = await log.subscribe({
        group,
        topics: [topic],
        handler: async (e) => void got.push((e.data as { n: number }).n),
      });
      const dlq = await log.subscribe({
        group: `${group}.dlq`,
        topics: [deadLetterTopic(topic)],
        handler: async (e) => void dead.push(e),
      });
      await raw.connect();
      // Same key, so the same partition: the valid event after it proves the consumer moved on.
      // A record that is not a CloudEvent, and a binary-mode CloudEvent whose data fails its schema.
      const badData = makeEvent(definition, 'k', 0).cloneWith(
        { data: { key: 'k', n: -1 } },
        false,
      ) as BvEvent;
      await raw.send({
        topic,
        messages: [{ key: 'k', value: 'not a cloud event' }, toKafkaMessage(badData)],
      });
      await log.publish(topic, makeEvent(definition, 'k', 1));
      await eventually(() => got.length >= 1, 'the valid event after the bad record', 30_000);
      expect(got).toEqual([1]);
      const invalid = await metrics.getSingleMetric('bv_event_log_invalid_records_total')?.get();
      expect(invalid?.values.find((v) => v.labels.topic === topic)?.value).toBe(2);
      const deadLetters = await metrics.getSingleMetric('bv_event_log_dead_letters_total')?.get();
      expect(deadLetters?.values.find((v) => v.labels.topic === topic)?.value).toBe(2);
      // On the dead-letter topic the raw record is counted and skipped; the schema failure is
      // delivered (dead-letter topics are not schema-checked: their readers are repair tools).
      await eventually(async () => {
        const again = await metrics.getSingleMetric('bv_event_log_invalid_records_total')?.get();
        return again?.values.find((v) => v.labels.topic === deadLetterTopic(topic))?.value === 1;
      }, 'the raw record on the dead-letter topic');
      await eventually(() => dead.length >= 1, 'the schema failure on the dead-letter topic');
      expect(dead.map((e) => e.id)).toEqual([badData.id]);
      expect(String((dead[0] as unknown as Record<string, unknown>).deadletterreason)).toMatch(/n:/);
      await Promise.all([sub.close(), dlq.close()]);
    } finally {
      await raw.disconnect();
      await log.close();
    }
  });
});
