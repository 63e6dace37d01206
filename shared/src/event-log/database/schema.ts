import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Tables of the database-backed log. Offsets are per (topic, partition), assigned in the
 * publishing transaction from `bv_event_log_partitions.next_offset`, so they are gap-free and
 * increase in commit order. `position` is the offset (`offset` is a reserved word in SQL).
 */
export interface EventLogTables {
  bv_event_log_topics: { topic: string; partitions: number; created_at: Date };
  bv_event_log_partitions: { topic: string; partition: number; next_offset: string | number };
  bv_event_log_events: {
    topic: string;
    partition: number;
    position: string | number;
    key: string;
    event: unknown;
    created_at: Date;
  };
  /** Per group and partition: the offset of the next event to handle (Kafka's committed offset). */
  bv_event_log_commits: {
    group_id: string;
    topic: string;
    partition: number;
    next_offset: string | number;
    updated_at: Date;
  };
  /** Live members of each group (heartbeat), for the fair share of partitions. */
  bv_event_log_members: { group_id: string; member: string; expires_at: Date };
  /** Which member of a group owns a partition until `expires_at` (database time). */
  bv_event_log_leases: {
    group_id: string;
    topic: string;
    partition: number;
    owner: string;
    expires_at: Date;
  };
}

export const eventLogMigrations: Record<string, Migration> = {
  '001_event_log': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE bv_event_log_topics (
        topic text PRIMARY KEY,
        partitions integer NOT NULL CHECK (partitions > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);
      await sql`CREATE TABLE bv_event_log_partitions (
        topic text NOT NULL REFERENCES bv_event_log_topics (topic),
        partition integer NOT NULL,
        next_offset bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (topic, partition)
      )`.execute(db);
      await sql`CREATE TABLE bv_event_log_events (
        topic text NOT NULL,
        partition integer NOT NULL,
        position bigint NOT NULL,
        key text NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, position)
      )`.execute(db);
      await sql`CREATE INDEX bv_event_log_events_created ON bv_event_log_events (created_at)`.execute(db);
      await sql`CREATE TABLE bv_event_log_commits (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition)
      )`.execute(db);
      await sql`CREATE INDEX bv_event_log_commits_partition ON bv_event_log_commits (topic, partition)`.execute(
        db,
      );
      await sql`CREATE TABLE bv_event_log_leases (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        owner text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, topic, partition)
      )`.execute(db);
    },
  },
  '002_members': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE bv_event_log_members (
        group_id text NOT NULL,
        member text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, member)
      )`.execute(db);
    },
  },
};
