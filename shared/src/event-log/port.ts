import type { BvEvent } from '../events/envelope.js';

/**
 * The event-log port: an append-only log of CloudEvents split into topics, read by consumer
 * groups. Implementations: Kafka (kafkajs) and a durable log in the SQL database. Both pass the
 * same contract suite (`event-log/contract.ts`).
 *
 * Guarantees every implementation gives:
 * - `publish` resolves only once the events are durable (Kafka: acknowledged by all in-sync replicas).
 * - Events with the same `partitionkey` are delivered to a group in the order they were published.
 * - Each group receives every event at least once; an offset is committed only after the handler
 *   resolved, so a consumer that dies between receiving and committing gets the event again.
 * - A handler that keeps failing does not stall its partition forever: after `maxAttempts` the
 *   event goes to `<topic>.dlq` and the group moves on.
 */
export interface EventLog {
  readonly kind: 'kafka' | 'database';
  /**
   * Validates every event against the registry first (a ValidationError naming the event and
   * the problem, and nothing written); then appends them in order. Not atomic across
   * partitions on Kafka: after a failure, publish again (consumers de-duplicate).
   */
  publish(topic: string, events: BvEvent | readonly BvEvent[]): Promise<void>;
  /**
   * Resolves once the consumer is in its group and positioned, so every event published after
   * that is delivered (also with `fromBeginning: false`). Handlers must be idempotent (delivery
   * is at least once) and should finish well within the Kafka session timeout.
   */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Whether the log's server answers; for health reports. */
  ping(): Promise<void>;
  /**
   * The state of this log's open subscriptions, for health reports: a consumer that crashed is
   * `restarting` (with the error) until it is back in its group and fetching.
   */
  consumers(): ConsumerStatus[];
  /** Closes this log's subscriptions and clients; a `Database` passed in stays open (its owner closes it). */
  close(): Promise<void>;
}

export interface DeliveryContext {
  topic: string;
  partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  /** 1 on first delivery within this consumer, counting up on retries (again 1 after a restart or rebalance). */
  attempt: number;
}

export type EventHandler = (event: BvEvent, context: DeliveryContext) => Promise<void>;

/**
 * Consecutive valid events of one partition, in order; when it resolves, their offsets are
 * committed together (one commit for the batch). When it throws, the same events go to `handler`
 * one at a time, with its retries and dead letters, so a batch handler must be idempotent too.
 */
export type BatchHandler = (
  events: readonly BvEvent[],
  context: { topic: string; partition: number },
) => Promise<void>;

export interface SubscribeOptions {
  group: string;
  topics: readonly string[];
  handler: EventHandler;
  /**
   * Optional, for handlers whose cost is per round trip rather than per event: the database log
   * hands each fetched run of events to it at once (Kafka calls `handler` for each event).
   */
  batchHandler?: BatchHandler;
  /** Where a group with no committed offset starts: the oldest event (default) or only new ones. */
  fromBeginning?: boolean;
  /** Handler attempts before an event is dead-lettered. */
  maxAttempts?: number;
  /** First delay between attempts; doubles each time with jitter. */
  retryDelayMs?: number;
}

export interface ConsumerStatus {
  group: string;
  topics: readonly string[];
  /** `starting`: joining its group; `running`: fetching; `restarting`: crashed, being restarted with backoff. */
  state: 'starting' | 'running' | 'restarting';
  /** Restarts after a crash since `subscribe`. */
  restarts: number;
  /** Why it last crashed, while it is `restarting`. */
  error?: string;
  /** When it crashed (ISO 8601), while it is `restarting`: how long stock has not been counted. */
  since?: string;
}

/** Whether every consumer is fetching, with a line per consumer that is not (for `/healthz`). */
export function consumersHealth(consumers: readonly ConsumerStatus[]): {
  ok: boolean;
  down: Record<string, string>;
} {
  const down: Record<string, string> = {};
  for (const c of consumers) {
    if (c.state === 'running') continue;
    down[c.group] = c.error ? `${c.state}: ${c.error}` : c.state;
  }
  return { ok: Object.keys(down).length === 0, down };
}

export interface Subscription {
  /** Stops fetching, lets the handler in progress finish, and leaves the group. */
  close(): Promise<void>;
}

export const subscribeDefaults = { fromBeginning: true, maxAttempts: 5, retryDelayMs: 100 } as const;
