import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Logger } from 'pino';
import { withTimeout } from '../../errors/index.js';
import { deadLetterTopic, type EventRegistry } from '../../events/index.js';
import {
  deadLetterAttributes,
  deadLetterEvent,
  deliver,
  describeError,
  validateConsumed,
} from '../delivery.js';
import type { EventLogMetrics } from '../metrics.js';
import type { EventHandler, Subscription } from '../port.js';
import { fromKafkaMessage, toKafkaMessage } from './codec.js';
import type { KafkaLogOptions } from './options.js';

export interface KafkaConsumerHost {
  kafka: Kafka;
  options: KafkaLogOptions;
  registry: EventRegistry;
  metrics: EventLogMetrics;
  logger: Logger;
  ensureTopic(topic: string): Promise<void>;
  send(topic: string, messages: Message[]): Promise<void>;
}

export interface KafkaConsumerOptions {
  group: string;
  topics: readonly string[];
  handler: EventHandler;
  fromBeginning: boolean;
  maxAttempts: number;
  retryDelayMs: number;
}

/**
 * One kafkajs consumer in a group. Offsets are committed by hand, one record at a time, only
 * after its handler resolved (or it was dead-lettered): the committed offset is the record's
 * offset + 1, the next one to read. Records of one partition are handled in order within
 * `eachBatch`; up to `partitionsConsumedConcurrently` partitions run side by side, so a poison
 * record holds back only its own partition until it is dead-lettered.
 *
 * `fromBeginning: false` is Kafka's `auto.offset.reset=latest`, resolved when the group first
 * fetches a partition: events published between `subscribe` and that first fetch are skipped.
 */
export class KafkaSubscription implements Subscription {
  private readonly abort = new AbortController();
  private readonly consumer: Consumer;

  constructor(
    private readonly host: KafkaConsumerHost,
    private readonly options: KafkaConsumerOptions,
  ) {
    const o = host.options;
    this.consumer = host.kafka.consumer({
      groupId: options.group,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
  }

  /** Resolves once the consumer joined its group (so it owns partitions and will fetch). */
  async start(): Promise<void> {
    const { options } = this.host;
    const joined = new Promise<void>((resolve) => {
      const remove = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    try {
      await withTimeout(this.consumer.connect(), options.sendTimeoutMs, 'Kafka consumer connect');
      await this.consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning,
      });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await withTimeout(joined, options.joinTimeoutMs, `join of consumer group ${this.options.group}`);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Stops fetching; kafkajs waits for the batch in progress, then leaves the group. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new Error('subscription closed'));
    await this.consumer.disconnect();
  }

  private async eachBatch({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const labels = { topic, group: this.options.group, partition: String(partition) };
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.abort.signal.aborted) return;
      const handled = await this.handle(topic, partition, message, heartbeat);
      if (!handled) return; // closing: not committed, so the next owner gets it again
      const next = (BigInt(message.offset) + 1n).toString();
      await this.consumer.commitOffsets([{ topic, partition, offset: next }]);
      resolveOffset(message.offset);
      this.host.metrics.lag.set(labels, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))));
      await heartbeat();
    }
  }

  /** Returns false when the consumer is closing and the record must stay uncommitted. */
  private async handle(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const { host, options } = this;
    const { group } = options;
    let event: ReturnType<typeof fromKafkaMessage>;
    try {
      event = fromKafkaMessage(message);
      validateConsumed(host.registry, topic, event);
    } catch (error) {
      // Kafka records come from outside the process: a bad one is counted, logged and parked.
      host.metrics.invalidRecords.inc({ topic, group });
      host.logger.error(
        { err: error, topic, partition, offset: message.offset },
        'invalid record dead-lettered',
      );
      await this.deadLetter(topic, {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [`ce_${deadLetterAttributes.reason}`]: describeError(error),
          [`ce_${deadLetterAttributes.group}`]: group,
        },
      });
      return true;
    }
    const outcome = await deliver(
      event,
      { topic, partition, offset: message.offset },
      {
        group,
        handler: options.handler,
        maxAttempts: options.maxAttempts,
        retryDelayMs: options.retryDelayMs,
        signal: this.abort.signal,
        metrics: host.metrics,
        logger: host.logger,
        beforeRetry: async () => {
          try {
            await heartbeat();
          } catch (error) {
            // A rebalance is under way; the commit after this record is then refused and the
            // record redelivered to the partition's next owner. Nothing to do here.
            host.logger.debug({ err: error, topic, partition }, 'heartbeat between retries failed');
          }
        },
      },
    );
    if (outcome.kind === 'stopped') return false;
    if (outcome.kind === 'failed') {
      host.logger.error(
        {
          err: outcome.error,
          topic,
          partition,
          offset: message.offset,
          eventId: event.id,
          attempts: options.maxAttempts,
        },
        'event dead-lettered after its last attempt',
      );
      await this.deadLetter(
        topic,
        toKafkaMessage(deadLetterEvent(event, describeError(outcome.error), group)),
      );
    }
    return true;
  }

  private async deadLetter(topic: string, message: Message): Promise<void> {
    const dlq = deadLetterTopic(topic);
    await this.host.ensureTopic(dlq);
    await this.host.send(dlq, [message]);
    this.host.metrics.published.inc({ topic: dlq });
    this.host.metrics.deadLetters.inc({ topic, group: this.options.group });
  }
}
