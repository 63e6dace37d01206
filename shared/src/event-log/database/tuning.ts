/** Knobs of the database-backed log; the defaults suit the embedded platform. */
export interface DatabaseLogTuning {
  /** Partitions of a topic created by this log (fixed per topic at its first use). */
  partitions: number;
  /**
   * How often an idle consumer looks for events written by other processes; this process's own
   * publishes wake it at once. `createEventLog` defaults it to 1000 ms on PGlite, 100 ms on PostgreSQL.
   */
  pollIntervalMs: number;
  /** How long a partition stays with a member that stopped renewing (crashed); renewed every leaseMs / 3. */
  leaseMs: number;
  /** Events fetched per partition per query. */
  batchSize: number;
  /** Events older than this that every group has passed are deleted by `cleanup()`. */
  retentionMs: number;
  /** A group that committed nothing for this long no longer holds events back (Kafka: offsets.retention.minutes). */
  groupRetentionMs: number;
  /** How often `cleanup()` runs by itself; 0 turns that off. */
  retentionIntervalMs: number;
  /** Rows per DELETE, so a clean-up never holds long locks. */
  retentionBatchSize: number;
}

export const databaseLogDefaults: DatabaseLogTuning = {
  partitions: 4,
  pollIntervalMs: 250,
  leaseMs: 10_000,
  batchSize: 100,
  retentionMs: 7 * 24 * 3600_000,
  groupRetentionMs: 7 * 24 * 3600_000,
  retentionIntervalMs: 10 * 60_000,
  retentionBatchSize: 1_000,
};
