import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Logger } from 'pino';
import { withTimeout } from '../../errors/index.js';
import { type BvEvent, deadLetterTopic, type EventRegistry } from '../../events/index.js';
import { retry } from '../../retry/index.js';
import {
  deadLetterAttributes,
  deadLetterEvent,
  deliver,
  describeError,
  isDeadLetterTopic,
  validateConsumed,
} from '../delivery.js';
import type { EventLogMetrics } from '../metrics.js';
import type { ConsumerStatus, EventHandler, Subscription } from '../port.js';
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
 * `eachBatch`; up to `partitionsConsumedConcurrently` partitions run side by side.
 *
 * kafkajs 2.x fetches from a broker again only when every batch of the previous fetch is done, so
 * a handler still running delays the other partitions' next records, and a handler must finish
 * within `sessionTimeoutMs` (kafkajs heartbeats between records, not during one). Hence only the
 * first attempt runs inside the fetch loop: when it fails, the partition is paused and attempts
 * 2..maxAttempts (with their backoff) run outside it, so a poison record holds back only its own
 * partition until it is dead-lettered, while the others keep flowing.
 *
 * `fromBeginning: false` is Kafka's `auto.offset.reset=latest`, resolved when the group first
 * fetches a partition (`subscribe` waits for that first fetch).
 *
 * A kafkajs consumer that crashes stays dead unless kafkajs restarts it itself, which it does
 * only for errors it deems retriable: a broker restart can end one with "Failed to find group
 * coordinator" (non-retriable), and commands or revocations would stop for good. So kafkajs never
 * restarts ours (`restartOnFailure` says no) and every crash goes one way: the crashed consumer is
 * replaced by a new one, joined with backoff until it fetches again, counted in
 * `bv_event_log_consumer_restarts_total`, and reported `restarting` (unhealthy) meanwhile.
 */
export class KafkaSubscription implements Subscription {
  private readonly abort = new AbortController();
  private consumer: Consumer;
  /** Aborts of the background retries in progress (one per paused partition). */
  private readonly retrying = new Set<() => void>();
  private state: ConsumerStatus['state'] = 'starting';
  private restarts = 0;
  private lastError: string | undefined;
  private crashedAt: string | undefined;

  constructor(
    private readonly host: KafkaConsumerHost,
    private readonly options: KafkaConsumerOptions,
  ) {
    this.consumer = this.createConsumer();
  }

  status(): ConsumerStatus {
    return {
      group: this.options.group,
      topics: this.options.topics,
      state: this.state,
      restarts: this.restarts,
      ...(this.state === 'restarting' && this.lastError ? { error: this.lastError } : {}),
      ...(this.state === 'restarting' && this.crashedAt ? { since: this.crashedAt } : {}),
    };
  }

  /**
   * Resolves once the consumer joined its group and finished a first fetch: by then kafkajs has
   * resolved the starting offset of every partition it got (for `fromBeginning: false`, the end of
   * the log), so an event published after `subscribe` resolves is delivered.
   */
  async start(): Promise<void> {
    this.setUp(false);
    try {
      // A broker just started answers "coordinator loading" for a while: retried like a restart.
      await this.runUntilUp({ current: true, deadline: Date.now() + this.host.options.joinTimeoutMs });
    } catch (error) {
      await this.close();
      throw error;
    }
    this.setUp(true);
  }

  /** Stops fetching; kafkajs waits for the batch in progress, then leaves the group. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new Error('subscription closed'));
    this.host.metrics.consumerUp.remove({ group: this.options.group });
    await this.consumer.disconnect();
  }

  private createConsumer(): Consumer {
    const o = this.host.options;
    const consumer = this.host.kafka.consumer({
      groupId: this.options.group,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      // Every crash is handled by `restart` below, the same way whatever kafkajs thinks of it.
      retry: {
        retries: o.consumerRetries,
        initialRetryTime: 100,
        maxRetryTime: o.consumerMaxRetryMs,
        restartOnFailure: async () => false,
      },
    });
    // A rebalance may hand a paused partition to another member: stop its retries uncommitted.
    const handBack = () => this.handBack();
    consumer.on(consumer.events.REBALANCING, handBack);
    consumer.on(consumer.events.GROUP_JOIN, handBack);
    consumer.on(consumer.events.CRASH, (e) => this.onCrash(consumer, e.payload.error));
    return consumer;
  }

  /**
   * Connects, subscribes and runs `consumer`; resolves after its first fetch, rejects when it
   * crashes or times out before that.
   */
  private async run(consumer: Consumer): Promise<void> {
    const { options } = this.host;
    const removers: (() => void)[] = [];
    const ready = new Promise<void>((resolve, reject) => {
      removers.push(
        consumer.on(consumer.events.GROUP_JOIN, () => {
          removers.push(consumer.on(consumer.events.FETCH, () => resolve()));
        }),
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error)),
      );
    });
    ready.catch(() => undefined); // observed below; a crash before `run` resolved must not go unhandled
    try {
      await withTimeout(consumer.connect(), options.sendTimeoutMs, 'Kafka consumer connect');
      await consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning,
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await withTimeout(ready, options.joinTimeoutMs, `join of consumer group ${this.options.group}`);
    } finally {
      for (const remove of removers) remove();
    }
  }

  private onCrash(consumer: Consumer, error: Error): void {
    // Crashes while starting reject `run`, whose caller decides; later ones restart the consumer.
    if (consumer !== this.consumer || this.state !== 'running' || this.abort.signal.aborted) return;
    this.lastError = describeError(error);
    this.crashedAt = new Date().toISOString();
    this.host.logger.error({ err: error }, 'Kafka consumer crashed: restarting it');
    this.restarts++;
    this.host.metrics.consumerRestarts.inc({ group: this.options.group });
    this.state = 'restarting';
    this.host.metrics.consumerUp.set({ group: this.options.group }, 0);
    this.handBack();
    this.runUntilUp({ current: false })
      .then(() => {
        if (this.abort.signal.aborted) return;
        this.host.logger.info({ restarts: this.restarts }, 'Kafka consumer restarted');
        this.setUp(true);
      })
      .catch((failure: unknown) => {
        // Only closing stops the retries (no deadline after a crash).
        this.host.logger.debug({ err: failure }, 'consumer restart stopped');
      });
  }

  /**
   * Runs a consumer (`current`: the one already made, first), replacing it by a new one after
   * each failed attempt (with backoff), until one is in the group and fetching; gives up at
   * `deadline` (ms since the epoch), if given.
   */
  private async runUntilUp({ current, deadline }: { current: boolean; deadline?: number }): Promise<void> {
    const { options, logger } = this.host;
    let first = current;
    await retry(
      async () => {
        this.abort.signal.throwIfAborted();
        if (!first) {
          // kafkajs disconnected a crashed consumer; one that failed otherwise is disconnected here.
          await this.consumer.disconnect().catch((error: unknown) => {
            logger.debug({ err: error }, 'disconnect of a failed consumer'); // it holds nothing any more
          });
          this.abort.signal.throwIfAborted();
          this.consumer = this.createConsumer();
        }
        first = false;
        await this.run(this.consumer);
      },
      {
        retries: Number.POSITIVE_INFINITY,
        initialDelayMs: options.restartInitialDelayMs,
        maxDelayMs: options.restartMaxDelayMs,
        signal: this.abort.signal,
        shouldRetry: () => !this.abort.signal.aborted && (deadline === undefined || Date.now() < deadline),
        onRetry: ({ error, attempt, delayMs }) => {
          this.lastError = describeError(error);
          logger.warn({ err: error, attempt, delayMs }, 'Kafka consumer (re)start failed, retrying');
        },
      },
    );
  }

  private setUp(up: boolean): void {
    this.state = up ? 'running' : 'starting';
    this.host.metrics.consumerUp.set({ group: this.options.group }, up ? 1 : 0);
  }

  private handBack(): void {
    for (const stop of [...this.retrying]) stop();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset } = payload;
    const { topic, partition } = batch;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.abort.signal.aborted) return;
      const outcome = await this.handleFirst(topic, partition, message);
      if (outcome.kind === 'stopped') return; // closing: not committed, so the next owner gets it again
      if (outcome.kind === 'retry') {
        // kafkajs fetches the next batch of every partition only after this call returns, so the
        // retries (with their backoff) run outside it while this partition alone is paused.
        this.retryInBackground(topic, partition, message, outcome.event, payload.pause());
        return;
      }
      await this.commit(topic, partition, message.offset, batch.highWatermark);
      resolveOffset(message.offset);
      await heartbeat();
    }
  }

  /** Commits `offset + 1`, the next record to read, and updates the lag gauge. */
  private async commit(
    topic: string,
    partition: number,
    offset: string,
    highWatermark?: string,
  ): Promise<void> {
    const next = (BigInt(offset) + 1n).toString();
    await this.consumer.commitOffsets([{ topic, partition, offset: next }]);
    if (highWatermark !== undefined) {
      const labels = { topic, group: this.options.group, partition: String(partition) };
      this.host.metrics.lag.set(labels, Math.max(0, Number(BigInt(highWatermark) - BigInt(next))));
    }
  }

  /** First delivery, inside the fetch loop: done (handled, parked or dead-lettered), retry later, or stopped. */
  private async handleFirst(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<{ kind: 'done' | 'stopped' } | { kind: 'retry'; event: BvEvent }> {
    const { host, options } = this;
    const { group } = options;
    let event: BvEvent;
    try {
      event = fromKafkaMessage(message);
      validateConsumed(host.registry, topic, event);
    } catch (error) {
      // Kafka records come from outside the process: a bad one is counted, logged and parked.
      host.metrics.invalidRecords.inc({ topic, group });
      if (isDeadLetterTopic(topic)) {
        host.logger.error(
          { err: error, topic, partition, offset: message.offset },
          'invalid record on a dead-letter topic skipped',
        );
        return { kind: 'done' };
      }
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
      return { kind: 'done' };
    }
    const outcome = await deliver(event, { topic, partition, offset: message.offset }, this.attempts(1, 1));
    if (outcome.kind === 'handled') return { kind: 'done' };
    if (outcome.kind === 'stopped') return { kind: 'stopped' };
    if (options.maxAttempts > 1) return { kind: 'retry', event };
    await this.deadLetterFailed(topic, partition, message.offset, event, outcome.error);
    return { kind: 'done' };
  }

  /**
   * Attempts 2..maxAttempts of one record while its partition is paused; then dead-letters it if
   * they all failed, commits, moves the partition's position past it and resumes it. A rebalance
   * or close aborts the retries without committing: the partition's owner reads the record again.
   */
  private retryInBackground(
    topic: string,
    partition: number,
    message: KafkaMessage,
    event: BvEvent,
    resume: () => void,
  ): void {
    const controller = new AbortController();
    const stop = () => controller.abort(new Error('partition handed back'));
    this.abort.signal.addEventListener('abort', stop, { once: true });
    this.retrying.add(stop);
    const job = (async () => {
      const outcome = await deliver(
        event,
        { topic, partition, offset: message.offset },
        { ...this.attempts(2, this.options.maxAttempts), signal: controller.signal },
      );
      if (outcome.kind === 'stopped') return;
      if (outcome.kind === 'failed') {
        await this.deadLetterFailed(topic, partition, message.offset, event, outcome.error);
      }
      await this.commit(topic, partition, message.offset);
      // With manual commits, seek only moves the in-memory position (kafkajs resolves offset - 1).
      this.consumer.seek({ topic, partition, offset: (BigInt(message.offset) + 1n).toString() });
    })();
    job
      .catch((error: unknown) => {
        // Not committed (Kafka or the dead-letter publish failed): the record is fetched again
        // after the resume below, from the position before it.
        this.host.logger.warn(
          { err: error, topic, partition, offset: message.offset },
          'retry of a record failed',
        );
      })
      .finally(() => {
        this.retrying.delete(stop);
        this.abort.signal.removeEventListener('abort', stop);
        if (!this.abort.signal.aborted) resume();
      });
  }

  private attempts(firstAttempt: number, lastAttempt: number) {
    return {
      group: this.options.group,
      handler: this.options.handler,
      firstAttempt,
      lastAttempt,
      retryDelayMs: this.options.retryDelayMs,
      signal: this.abort.signal,
      metrics: this.host.metrics,
      logger: this.host.logger,
    };
  }

  private async deadLetterFailed(
    topic: string,
    partition: number,
    offset: string,
    event: BvEvent,
    error: unknown,
  ): Promise<void> {
    this.host.logger.error(
      { err: error, topic, partition, offset, eventId: event.id, attempts: this.options.maxAttempts },
      'event dead-lettered after its last attempt',
    );
    await this.deadLetter(
      topic,
      toKafkaMessage(deadLetterEvent(event, describeError(error), this.options.group)),
    );
  }

  private async deadLetter(topic: string, message: Message): Promise<void> {
    const dlq = deadLetterTopic(topic);
    await this.host.ensureTopic(dlq);
    await this.host.send(dlq, [message]);
    this.host.metrics.published.inc({ topic: dlq });
    this.host.metrics.deadLetters.inc({ topic, group: this.options.group });
  }
}
