import type { Database, Statement } from 'better-sqlite3';

/** The outbox's prepared statements (prepared once per open). */
export function prepareStatements(db: Database) {
  return {
    insert: db.prepare('INSERT INTO readings (device_id, seq, time_ms, body) VALUES (?, ?, ?, ?)'),
    setLast: db.prepare('UPDATE devices SET last_seq = ?, updated_ms = ? WHERE id = ?'),
    setLink: db.prepare('UPDATE devices SET link_seq = ? WHERE id = ?'),
    setReplay: db.prepare('UPDATE devices SET boot_id = ?, stored_device_time_ms = ? WHERE id = ?'),
    read: db.prepare(
      'SELECT seq, time_ms, body FROM readings WHERE device_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
    ),
    rangeStats: db.prepare(
      'SELECT COUNT(*) AS n, COALESCE(SUM(length(body)), 0) AS b FROM readings WHERE device_id = ? AND seq BETWEEN ? AND ?',
    ),
    deleteRange: db.prepare('DELETE FROM readings WHERE device_id = ? AND seq BETWEEN ? AND ?'),
    oldest: db.prepare('SELECT time_ms FROM readings ORDER BY id LIMIT 1'),
    oldestChunk: db.prepare(
      'SELECT id, device_id, seq, time_ms, length(body) AS len FROM readings WHERE id > ? ORDER BY id LIMIT ?',
    ),
    deleteUpTo: db.prepare('DELETE FROM readings WHERE id <= ?'),
    insertGap: db.prepare(
      'INSERT INTO gaps (device, kind, reason, from_seq, to_seq, count, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    getDevice: db.prepare('SELECT * FROM devices WHERE name = ?'),
    insertDevice: db.prepare('INSERT INTO devices (name, updated_ms) VALUES (?, ?)'),
    updateDeviceInfo: db.prepare(
      'UPDATE devices SET serial = ?, firmware = ?, bin_count = ?, updated_ms = ? WHERE id = ?',
    ),
    setValues: db.prepare('UPDATE devices SET last_values = ? WHERE id = ?'),
  };
}

export type Statements = Record<keyof ReturnType<typeof prepareStatements>, Statement>;
