import { type Admin, Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { UnavailableError, withTimeout } from '../../errors/index.js';
import type { BvEvent, EventRegistry } from '../../events/index.js';
import { retry } from '../../retry/index.js';
import { resolveSubscribeOptions, validateForPublish } from '../delivery.js';
import type { EventLogMetrics } from '../metrics.js';
import type { ConsumerStatus, EventLog, SubscribeOptions, Subscription } from '../port.js';
import { toKafkaMessage } from './codec.js';
import { KafkaSubscription } from './consumer.js';
import { kafkaLogLevel, pinoLogCreator } from './logging.js';
import type { KafkaLogOptions } from './options.js';

export interface KafkaLogDeps {
  brokers: string[];
  clientId: string;
  options: KafkaLogOptions;
  registry: EventRegistry;
  metrics: EventLogMetrics;
  logger: Logger;
}

/**
 * The event log on Kafka (kafkajs). Publishing uses one idempotent producer with acks=-1 (all
 * in-sync replicas) and one request in flight, so retries never reorder or duplicate a key's
 * events. Topics are created through the admin API on first use with `partitions` partitions.
 */
export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka';
  private readonly topics = new Map<string, Promise<void>>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  private constructor(
    private readonly deps: KafkaLogDeps,
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
  ) {}

  static async open(deps: KafkaLogDeps): Promise<KafkaEventLog> {
    const { options } = deps;
    const kafka = new Kafka({
      clientId: deps.clientId,
      brokers: deps.brokers,
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      logLevel: kafkaLogLevel(deps.logger),
      logCreator: pinoLogCreator(deps.logger),
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Explicit, so kafkajs does not warn; it is murmur2 like the Java client (and the database log).
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const admin = kafka.admin();
    try {
      await withTimeout(producer.connect(), options.sendTimeoutMs, 'Kafka producer connect');
      await withTimeout(admin.connect(), options.sendTimeoutMs, 'Kafka admin connect');
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw new UnavailableError(`cannot reach Kafka at ${deps.brokers.join(',')}: ${String(error)}`, {
        cause: error,
      });
    }
    return new KafkaEventLog(deps, kafka, producer, admin);
  }

  async publish(topic: string, input: BvEvent | readonly BvEvent[]): Promise<void> {
    if (this.closed) throw new UnavailableError('event log is closed', { retriable: false });
    const events: readonly BvEvent[] = isEventList(input) ? input : [input];
    validateForPublish(this.deps.registry, topic, events);
    if (events.length === 0) return;
    await this.ensureTopic(topic);
    await this.send(topic, events.map(toKafkaMessage));
    this.deps.metrics.published.inc({ topic }, events.length);
  }

  /** Sends ready-made records (also dead letters, which skip validation), acknowledged by all in-sync replicas. */
  async send(topic: string, messages: Parameters<Producer['send']>[0]['messages']): Promise<void> {
    const timeout = this.deps.options.sendTimeoutMs;
    await withTimeout(
      this.producer.send({ topic, acks: -1, timeout, messages }),
      timeout,
      `publish to ${topic}`,
    );
  }

  async subscribe(input: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new UnavailableError('event log is closed', { retriable: false });
    const options = resolveSubscribeOptions(input);
    for (const topic of options.topics) await this.ensureTopic(topic);
    const subscription = new KafkaSubscription(
      {
        kafka: this.kafka,
        options: this.deps.options,
        registry: this.deps.registry,
        metrics: this.deps.metrics,
        logger: this.deps.logger.child({ group: options.group }),
        ensureTopic: (topic) => this.ensureTopic(topic),
        send: (topic, messages) => this.send(topic, messages),
      },
      options,
    );
    await subscription.start();
    this.subscriptions.add(subscription);
    return {
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  consumers(): ConsumerStatus[] {
    return [...this.subscriptions].map((s) => s.status());
  }

  async ping(): Promise<void> {
    await withTimeout(
      this.admin.describeCluster(),
      this.deps.options.requestTimeoutMs,
      'Kafka describeCluster',
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.close()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /**
   * Creates the topic unless it exists (waiting for its partition leaders), once per process.
   * A topic just created (by this client or another) can be missing from a broker's metadata for
   * a moment: kafkajs retries only LEADER_NOT_AVAILABLE while it waits for the leaders and throws
   * the retriable UNKNOWN_TOPIC_OR_PARTITION, which ended a starting cloud on a fresh Kafka.
   */
  ensureTopic(topic: string): Promise<void> {
    let created = this.topics.get(topic);
    if (!created) {
      const { partitions, replicationFactor, sendTimeoutMs } = this.deps.options;
      created = withTimeout(
        retry(
          () =>
            this.admin.createTopics({
              topics: [{ topic, numPartitions: partitions, replicationFactor }],
              waitForLeaders: true,
              timeout: sendTimeoutMs,
            }),
          { retries: 8, initialDelayMs: 100, maxDelayMs: 1_000 },
        ),
        sendTimeoutMs,
        `create topic ${topic}`,
      ).then(() => undefined);
      created.catch(() => this.topics.delete(topic)); // tried again on next use
      this.topics.set(topic, created);
    }
    return created;
  }
}

function isEventList(input: BvEvent | readonly BvEvent[]): input is readonly BvEvent[] {
  return Array.isArray(input);
}
