import type { Logger } from 'pino';
import { ValidationError } from '../errors/index.js';
import type { BvEvent, EventRegistry } from '../events/index.js';
import { backoffDelay, retry, sleep } from '../retry/index.js';
import type { EventLogMetrics } from './metrics.js';
import {
  type BatchHandler,
  type DeliveryContext,
  type EventHandler,
  type SubscribeOptions,
  subscribeDefaults,
} from './port.js';

/** CloudEvents extension attributes a dead-lettered event carries (names: lowercase alphanumerics, [CE 1.0 §3.1.1]). */
export const deadLetterAttributes = {
  reason: 'deadletterreason',
  group: 'deadlettergroup',
} as const;

const maxReasonLength = 500;

/** Refuses the whole batch, before anything is written, when one event does not fit its schema. */
export function validateForPublish(registry: EventRegistry, topic: string, events: readonly BvEvent[]): void {
  if (!topic || topic.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(topic)) {
    throw new ValidationError(`invalid topic name ${JSON.stringify(topic)}`);
  }
  events.forEach((event, index) => {
    if (typeof event.partitionkey !== 'string' || event.partitionkey.length === 0) {
      throw new ValidationError(`event ${index} (${event.type}) on ${topic} has no partitionkey`);
    }
    try {
      registry.validate(event, topic);
    } catch (error) {
      if (error instanceof ValidationError && events.length > 1) {
        throw new ValidationError(`event ${index} of ${events.length} on ${topic}: ${error.message}`, {
          cause: error,
          details: error.details,
        });
      }
      throw error;
    }
  });
}

/**
 * Dead-letter topics hold exactly the records that failed somewhere; their readers are repair
 * tools. Their events are not schema-checked, and a record there that is not even a CloudEvent is
 * counted and skipped rather than copied to `<topic>.dlq.dlq` (it stays where it is).
 */
export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith('.dlq');
}

/** Checks a consumed event against the registry (records come from outside the process). */
export function validateConsumed(registry: EventRegistry, topic: string, event: BvEvent): void {
  if (isDeadLetterTopic(topic)) return;
  registry.validate(event, topic);
}

/** The event as it goes to `<topic>.dlq`: unchanged, plus why and for which group it failed. */
export function deadLetterEvent(event: BvEvent, reason: string, group: string): BvEvent {
  return event.cloneWith(
    {
      [deadLetterAttributes.reason]: truncate(reason),
      [deadLetterAttributes.group]: group,
    },
    false,
  ) as BvEvent;
}

export function describeError(error: unknown): string {
  return truncate(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

function truncate(text: string): string {
  return text.length > maxReasonLength ? `${text.slice(0, maxReasonLength - 1)}…` : text;
}

export type DeliveryOutcome = { kind: 'handled' } | { kind: 'failed'; error: unknown } | { kind: 'stopped' };

export interface DeliveryOptions {
  group: string;
  handler: EventHandler;
  /** The attempts to make, numbered from 1 for the first delivery: `firstAttempt..lastAttempt`. */
  firstAttempt: number;
  lastAttempt: number;
  retryDelayMs: number;
  signal: AbortSignal;
  metrics: EventLogMetrics;
  logger: Logger;
}

/**
 * Calls the handler until it resolves, for the attempts `firstAttempt..lastAttempt`, with the
 * shared backoff (doubling from `retryDelayMs`, with jitter) before every attempt after the first
 * one. Starting at a later attempt (the Kafka consumer retries outside its fetch loop) waits the
 * backoff that attempt would have had. `stopped` means the consumer is closing or lost the
 * partition: the caller must not commit, so the event is delivered again.
 */
export async function deliver(
  event: BvEvent,
  context: Omit<DeliveryContext, 'attempt'>,
  options: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const labels = { topic: context.topic, group: options.group };
  const backoff = {
    initialDelayMs: options.retryDelayMs,
    maxDelayMs: Math.max(options.retryDelayMs, 30_000),
    factor: 2,
    jitter: 0.5,
  };
  const first = options.firstAttempt;
  try {
    if (first > 1) await sleep(backoffDelay(first - 1, backoff), options.signal);
    await retry(
      async ({ attempt: n }) => {
        const attempt = first + n - 1;
        options.signal.throwIfAborted();
        const end = options.metrics.handlerSeconds.startTimer(labels);
        try {
          await options.handler(event, { ...context, attempt });
        } catch (error) {
          options.metrics.handlerFailures.inc(labels);
          options.logger.warn(
            {
              err: error,
              topic: context.topic,
              partition: context.partition,
              offset: context.offset,
              attempt,
              eventId: event.id,
            },
            'event handler failed',
          );
          throw error;
        } finally {
          end();
        }
      },
      {
        ...backoff,
        // Continue the progression where `first` left it.
        initialDelayMs: Math.min(backoff.maxDelayMs, backoff.initialDelayMs * backoff.factor ** (first - 1)),
        retries: Math.max(0, options.lastAttempt - first),
        signal: options.signal,
        // Handlers throw whatever they like; every failure is retried until the attempts run out.
        shouldRetry: () => !options.signal.aborted,
      },
    );
    options.metrics.consumed.inc(labels);
    return { kind: 'handled' };
  } catch (error) {
    if (options.signal.aborted) return { kind: 'stopped' };
    return { kind: 'failed', error };
  }
}

export type ResolvedSubscribeOptions = Required<Omit<SubscribeOptions, 'topics' | 'batchHandler'>> & {
  topics: readonly string[];
  batchHandler?: BatchHandler;
};

/** Fills defaults (an option given as `undefined` counts as not given) and checks the options. */
export function resolveSubscribeOptions(input: SubscribeOptions): ResolvedSubscribeOptions {
  const options: ResolvedSubscribeOptions = {
    group: input.group,
    topics: [...new Set(input.topics)],
    handler: input.handler,
    ...(input.batchHandler ? { batchHandler: input.batchHandler } : {}),
    fromBeginning: input.fromBeginning ?? subscribeDefaults.fromBeginning,
    maxAttempts: input.maxAttempts ?? subscribeDefaults.maxAttempts,
    retryDelayMs: input.retryDelayMs ?? subscribeDefaults.retryDelayMs,
  };
  if (!options.group) throw new ValidationError('subscribe needs a group');
  if (options.topics.length === 0) throw new ValidationError('subscribe needs at least one topic');
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new ValidationError('maxAttempts must be an integer of at least 1');
  }
  if (!(options.retryDelayMs >= 0)) throw new ValidationError('retryDelayMs must not be negative');
  return options;
}
