/**
 * The reliable queue port: durable named queues with at-least-once delivery, delayed retries and
 * a dead-letter queue after the last attempt. RabbitMQ (amqplib) when `AMQP_URL` is set, a table
 * in the database (PGlite embedded, PostgreSQL) otherwise. Both pass `queue.contract.ts`.
 *
 * Messages are JSON. A consumer settles each delivery exactly once: `ack` (done), `retry` (back
 * after a delay, as attempt + 1) or `deadLetter`; a retry past the queue's last attempt
 * dead-letters. A delivery whose consumer dies unsettled (crash, connection cut) comes back.
 */
export interface Queue {
  readonly kind: 'rabbitmq' | 'database';
  /** Declares a queue (idempotent). Publishing or consuming declares with defaults. */
  declare(queue: string, options?: QueueOptions): Promise<void>;
  /** Resolves once the message is durable (publisher confirm, committed row). */
  publish(queue: string, payload: unknown, options?: PublishOptions): Promise<void>;
  consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Subscription>;
  /** Messages in the queue's dead-letter queue, oldest first. */
  deadLetters(queue: string, options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Moves dead letters (all, or those with the given ids) back to the queue as attempt 1. */
  redrive(queue: string, ids?: readonly string[]): Promise<number>;
  /** Messages waiting (ready or delayed), for health pages and tests. */
  depth(queue: string): Promise<number>;
  /** Deletes a queue and everything belonging to it (tests). */
  remove(queue: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueOptions {
  /** Attempts before a `retry` dead-letters instead (default 8, Svix's schedule). */
  maxAttempts?: number;
}

export interface PublishOptions {
  /** Made visible only after this delay. */
  delayMs?: number;
  /** Ordering or routing key carried with the message (e.g. the endpoint id). */
  key?: string;
  /** The message's id (default random); the database queue ignores a second publish of one id. */
  id?: string;
}

export interface ConsumeOptions {
  /** Deliveries in flight at once for this consumer (bounds the in-memory buffer). */
  prefetch?: number;
}

export interface QueueMessage {
  id: string;
  queue: string;
  payload: unknown;
  key?: string;
  /** 1 on the first delivery attempt, + 1 for each `retry`. */
  attempt: number;
  /** True when this attempt was handed out before and not settled (a consumer died). */
  redelivered: boolean;
}

export interface Delivery extends QueueMessage {
  ack(): Promise<void>;
  /** Back after `delayMs` as the next attempt, or to the dead-letter queue after the last one. */
  retry(delayMs: number, reason?: string): Promise<void>;
  deadLetter(reason: string): Promise<void>;
}

/**
 * Called for each delivery. If it throws without settling, the delivery is retried after
 * `failureDelayMs` of the consumer (an unexpected error is a transient failure, never a loss).
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface DeadLetter {
  id: string;
  payload: unknown;
  key?: string;
  attempts: number;
  reason: string;
}

export interface Subscription {
  /** Stops taking new deliveries; those in flight finish first. */
  close(): Promise<void>;
}

export const queueDefaults = { maxAttempts: 8, prefetch: 16, failureDelayMs: 1_000 } as const;

/** Queue names: letters, digits, `.`, `-`, `_` (they become RabbitMQ queue names and SQL values). */
export function checkQueueName(queue: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/.test(queue)) throw new Error(`invalid queue name ${queue}`);
  return queue;
}
