import { type Kysely, sql } from 'kysely';
import type { EventLogTables } from './schema.js';

/**
 * Group membership and partition leases of the database log, all timed by the database clock
 * (`now()`), so members on machines with skewed clocks agree on who owns what.
 *
 * Balancing: every member heartbeats a row in `bv_event_log_members`; a member's fair share is
 * ceil(partitions / live members). It claims free or expired partitions up to its share and gives
 * back idle ones above it, so a member that joins gets partitions within about two renewals
 * (2 x leaseMs / 3), and a dead member's partitions are claimed once its leases expire. A lease is
 * only given back by its owner with no handler running on it, so no two members ever handle one
 * partition at once (commits are also fenced by the lease, see `commit`).
 */
export interface PartitionRef {
  topic: string;
  partition: number;
}

export class GroupLeases {
  constructor(
    private readonly db: Kysely<EventLogTables>,
    private readonly group: string,
    private readonly member: string,
    private readonly topics: readonly string[],
    private readonly leaseMs: number,
  ) {}

  /**
   * Records this member as alive and returns how many members of the group are, in one statement
   * (every member of every group runs it each renewal). The count reads the table as it was before
   * the statement, so it counts the others and adds this member.
   */
  async heartbeat(): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      WITH beat AS (
        INSERT INTO bv_event_log_members (group_id, member, expires_at)
        VALUES (${this.group}, ${this.member}, now() + ${this.leaseMs} * interval '1 millisecond')
        ON CONFLICT (group_id, member) DO UPDATE SET expires_at = excluded.expires_at
      ), swept AS (
        -- Rows of members that died long ago are only clutter; live ones are counted below.
        DELETE FROM bv_event_log_members WHERE group_id = ${this.group} AND expires_at < now() - interval '1 hour'
      )
      SELECT 1 + count(*)::integer AS n FROM bv_event_log_members
      WHERE group_id = ${this.group} AND member <> ${this.member} AND expires_at > now()`.execute(this.db);
    return Math.max(1, Number(rows[0]?.n ?? 1));
  }

  /** Extends the leases this member still holds; returns them. */
  async renew(): Promise<PartitionRef[]> {
    const { rows } = await sql<PartitionRef>`UPDATE bv_event_log_leases
      SET expires_at = now() + ${this.leaseMs} * interval '1 millisecond'
      WHERE group_id = ${this.group} AND owner = ${this.member} AND topic IN (${sql.join(this.topics)})
      RETURNING topic, partition`.execute(this.db);
    return rows.map(normalise);
  }

  /**
   * Claims up to `count` partitions that nobody holds or whose lease expired. Candidates are
   * taken in random order so members joining together do not all race for partition 0; a
   * candidate another member claimed meanwhile is skipped by the conflict clause.
   */
  async claim(count: number): Promise<PartitionRef[]> {
    if (count <= 0) return [];
    const { rows } = await sql<PartitionRef>`
      INSERT INTO bv_event_log_leases (group_id, topic, partition, owner, expires_at)
      SELECT ${this.group}, c.topic, c.partition, ${this.member}, now() + ${this.leaseMs} * interval '1 millisecond'
      FROM (
        SELECT p.topic, p.partition FROM bv_event_log_partitions p
        LEFT JOIN bv_event_log_leases l
          ON l.group_id = ${this.group} AND l.topic = p.topic AND l.partition = p.partition
        WHERE p.topic IN (${sql.join(this.topics)}) AND (l.owner IS NULL OR l.expires_at <= now())
        ORDER BY random() LIMIT ${count}
      ) c
      ON CONFLICT (group_id, topic, partition) DO UPDATE
        SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE bv_event_log_leases.expires_at <= now()
      RETURNING topic, partition`.execute(this.db);
    return rows.map(normalise);
  }

  /** Gives partitions back (their workers must be idle) so another member can claim them. */
  async release(partitions: readonly PartitionRef[]): Promise<void> {
    for (const p of partitions) {
      await sql`DELETE FROM bv_event_log_leases WHERE group_id = ${this.group} AND owner = ${this.member}
        AND topic = ${p.topic} AND partition = ${p.partition}`.execute(this.db);
    }
  }

  /** Leaves the group: releases every lease and the membership row. */
  async leave(): Promise<void> {
    await sql`DELETE FROM bv_event_log_leases WHERE group_id = ${this.group} AND owner = ${this.member}`.execute(
      this.db,
    );
    await sql`DELETE FROM bv_event_log_members WHERE group_id = ${this.group} AND member = ${this.member}`.execute(
      this.db,
    );
  }
}

function normalise(row: PartitionRef): PartitionRef {
  return { topic: row.topic, partition: Number(row.partition) };
}
