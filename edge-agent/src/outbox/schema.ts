import type { Database } from 'better-sqlite3';

/**
 * The outbox file's tables. `readings.id` is the global storage order (drop-oldest deletes the
 * lowest ids); (device_id, seq) is the reading's identity on the wire.
 */
const migrations: readonly string[] = [
  `CREATE TABLE devices (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     last_seq INTEGER NOT NULL DEFAULT 0,
     link_seq INTEGER,
     serial TEXT,
     firmware TEXT,
     bin_count INTEGER,
     last_values BLOB,
     updated_ms INTEGER NOT NULL
   );
   CREATE TABLE readings (
     id INTEGER PRIMARY KEY,
     device_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     time_ms INTEGER NOT NULL,
     body BLOB NOT NULL
   );
   CREATE UNIQUE INDEX readings_device_seq ON readings (device_id, seq);
   CREATE TABLE gaps (
     id INTEGER PRIMARY KEY,
     device TEXT NOT NULL,
     kind TEXT NOT NULL,
     reason TEXT NOT NULL,
     from_seq INTEGER NOT NULL,
     to_seq INTEGER NOT NULL,
     count INTEGER NOT NULL,
     at_ms INTEGER NOT NULL,
     reported INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE commands (
     id TEXT PRIMARY KEY,
     device TEXT,
     status TEXT NOT NULL,
     reason TEXT,
     received_ms INTEGER NOT NULL,
     finished_ms INTEGER,
     reported INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Shelf-link replay [SL-REPLAY-5]: the boot of a replay controller and the deviceTimeMs of its
  // newest stored reading, committed with the readings (NULL: none yet, or no replay).
  `ALTER TABLE devices ADD COLUMN boot_id INTEGER;
   ALTER TABLE devices ADD COLUMN stored_device_time_ms INTEGER;`,
];

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
