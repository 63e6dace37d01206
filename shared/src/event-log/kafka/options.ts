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
}

export const kafkaLogDefaults: KafkaLogOptions = {
  partitions: 6,
  replicationFactor: -1,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 3_000,
  sendTimeoutMs: 30_000,
  joinTimeoutMs: 60_000,
  partitionsConsumedConcurrently: 6,
};
