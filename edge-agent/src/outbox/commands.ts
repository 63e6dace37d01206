import type { CommandStatus } from '@bitv/shared/sparkplug';
import type { Database } from 'better-sqlite3';

export interface CommandRecord {
  id: string;
  /** Device id for a DCMD, null for an NCMD. */
  device: string | null;
  status: CommandStatus | 'running';
  reason: string | null;
}

/**
 * Executed command ids, in the outbox file: a command id runs at most once even if NCMD/DCMD is
 * redelivered (QoS 1, a reconnect, the cloud retrying); a repeat gets the stored result again.
 */
export class CommandStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Claims `id` for execution. Returns the earlier record if this id was seen before. */
  begin(id: string, device: string | null): { fresh: true } | { fresh: false; record: CommandRecord } {
    const inserted = this.db
      .prepare(
        "INSERT INTO commands (id, device, status, received_ms) VALUES (?, ?, 'running', ?) ON CONFLICT(id) DO NOTHING",
      )
      .run(id, device, this.now());
    if (inserted.changes === 1) return { fresh: true };
    return { fresh: false, record: this.get(id)! };
  }

  get(id: string): CommandRecord | undefined {
    return this.db.prepare('SELECT id, device, status, reason FROM commands WHERE id = ?').get(id) as
      | CommandRecord
      | undefined;
  }

  /** Stores the outcome; it stays unreported until the broker acknowledged the result message. */
  finish(id: string, status: CommandStatus, reason?: string): void {
    this.db
      .prepare('UPDATE commands SET status = ?, reason = ?, finished_ms = ?, reported = 0 WHERE id = ?')
      .run(status, reason ?? null, this.now(), id);
  }

  /** Records a result for a command that never ran (rejected, expired, repeated) under its id. */
  record(id: string, device: string | null, status: CommandStatus, reason?: string): void {
    this.db
      .prepare(
        `INSERT INTO commands (id, device, status, reason, received_ms, finished_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET reported = 0`,
      )
      .run(id, device, status, reason ?? null, this.now(), this.now());
  }

  /** Marks a stored result to be published again (the command was redelivered). */
  republish(id: string): void {
    this.db.prepare("UPDATE commands SET reported = 0 WHERE id = ? AND status <> 'running'").run(id);
  }

  unreported(limit = 100): CommandRecord[] {
    return this.db
      .prepare(
        "SELECT id, device, status, reason FROM commands WHERE reported = 0 AND status <> 'running' ORDER BY finished_ms LIMIT ?",
      )
      .all(limit) as CommandRecord[];
  }

  markReported(ids: readonly string[]): void {
    const st = this.db.prepare('UPDATE commands SET reported = 1 WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) st.run(id);
    })();
  }

  /**
   * After a crash, a command still `running` may or may not have reached the shelf: it is not
   * retried (at most once), it is reported failed. `keep`: a command meant to outlive the restart
   * (the `agent_update` whose trial this start is).
   */
  failInterrupted(keep?: string): number {
    return this.db
      .prepare(
        "UPDATE commands SET status = 'failed', reason = 'agent restarted while executing', finished_ms = ?, reported = 0 WHERE status = 'running' AND id IS NOT ?",
      )
      .run(this.now(), keep ?? null).changes;
  }

  /** Forgets reported commands older than `maxAgeMs` (ids older than any redelivery window). */
  prune(maxAgeMs: number): number {
    return this.db
      .prepare('DELETE FROM commands WHERE reported = 1 AND received_ms < ?')
      .run(this.now() - maxAgeMs).changes;
  }
}
