import type { ShadowDocument } from '@bitv/shared/events';
import type { Database } from 'better-sqlite3';

/** What the agent keeps of its shadow across restarts. */
export interface StoredShadow {
  /** The desired version the agent accepted (0: none yet). */
  version: number;
  desired: ShadowDocument;
  /** Tare generations applied, by shelf then bin: a tare runs once per generation. */
  tares: Record<string, Record<string, number>>;
}

/**
 * The shadow in the outbox file (its own table, one row per key), so a restart neither forgets
 * the desired state nor tares a bin again.
 */
export class ShadowStore {
  constructor(private readonly db: Database) {
    db.exec('CREATE TABLE IF NOT EXISTS shadow_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  }

  load(): StoredShadow {
    const rows = this.db.prepare('SELECT key, value FROM shadow_state').all() as {
      key: string;
      value: string;
    }[];
    const kv = new Map(rows.map((r) => [r.key, r.value]));
    return {
      version: Number(kv.get('version') ?? 0),
      desired: JSON.parse(kv.get('desired') ?? '{}') as ShadowDocument,
      tares: JSON.parse(kv.get('tares') ?? '{}') as StoredShadow['tares'],
    };
  }

  /** The accepted desired state and its version, in one transaction. */
  saveDesired(version: number, desired: ShadowDocument): void {
    const put = this.db.prepare(
      'INSERT INTO shadow_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      put.run('version', String(version));
      put.run('desired', JSON.stringify(desired));
    })();
  }

  saveTares(tares: StoredShadow['tares']): void {
    this.db
      .prepare(
        "INSERT INTO shadow_state (key, value) VALUES ('tares', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(JSON.stringify(tares));
  }
}
