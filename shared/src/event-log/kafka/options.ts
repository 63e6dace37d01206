/** Knobs of the Kafka log; defaults suit production, tests lower the timeouts. */
export interface KafkaLogOptions {
  /** Partitions of a topic this log creates (existing topics keep theirs). */
  partitions: number;
  /** -1 = the broker's `default.replication.factor`. */
  replicationFactor: number;
  /** Consumer group session: a consumer that stops heartbeating loses its partitions after this (broker minimum 6000). */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** How long a fetch waits for data; also bounds how long a consumer's disconnect takes. */
  maxWaitTimeMs: number;
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  /** Upper bound for one `publish` (and topic creation), whatever kafkajs retries inside. */
  sendTimeoutMs: number;
  /** How long `subscribe` waits for the group join. */
  joinTimeoutMs: number;
  /** Partitions a consumer handles at once (each one in order). */
  partitionsConsumedConcurrently: number;
  /**
   * kafkajs retries of a consumer's requests before it crashes (and is restarted by us), and the
   * longest wait between two. A consumer that rides out an outage keeps its member id and is
   * fetching as soon as the broker is back; one that crashed joins as a new member, and the group
   * waits up to `sessionTimeoutMs` for the old one first.
   */
  consumerRetries: number;
  consumerMaxRetryMs: number;
  /** Backoff between attempts to restart a crashed consumer: first delay, then doubling up to the max. */
  restartInitialDelayMs: number;
  restartMaxDelayMs: number;
}

export const kafkaLogDefaults: KafkaLogOptions = {
  partitions: 6,
  replicationFactor: -1,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 3_000,
  sendTimeoutMs: 30_000,
  joinTimeoutMs: 60_000,
  partitionsConsumedConcurrently: 6,
  consumerRetries: 100,
  consumerMaxRetryMs: 2_000,
  restartInitialDelayMs: 300,
  restartMaxDelayMs: 5_000,
};
