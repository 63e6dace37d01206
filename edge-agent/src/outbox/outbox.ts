import { ValidationError } from '@bitv/shared/errors';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { decodeBody, encodeBody, type ReadingValues } from './body.js';
import { migrate } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';

/**
 * `normal`: WAL with synchronous=NORMAL. A commit is written to the WAL file before it returns, so
 * it survives the process dying at any instant (kill -9, crash, OOM); the last commits before a
 * power cut may be lost (the WAL is fsynced only at checkpoints).
 * `full`: WAL with synchronous=FULL. Every commit is fsynced: survives power loss too, at the cost
 * of one fsync per ingest batch.
 */
export type Durability = 'normal' | 'full';
/** What happens when a limit is reached: drop the oldest stored readings, or refuse new ones. */
export type FullPolicy = 'drop-oldest' | 'reject-new';

export interface OutboxLimits {
  maxRows: number;
  /** Approximate bytes: body bytes plus a fixed per-row overhead (index and row headers). */
  maxBytes: number;
  /** Readings older than this (by their own timestamp, checked in storage order) are dropped. */
  maxAgeMs: number;
}

export interface OutboxOptions extends OutboxLimits {
  path: string;
  durability: Durability;
  policy: FullPolicy;
  now?: () => number;
  /** Called after a gap was recorded (inside no transaction). */
  onGap?: (gap: Gap) => void;
}

export interface NewReading extends ReadingValues {
  timeMs: number;
}

export interface StoredReading extends ReadingValues {
  seq: number;
  timeMs: number;
}

/**
 * Readings that will never be delivered, said out loud: `dropped` (a limit was hit; seq range of
 * the outbox) or `link` (frames the shelf sent that the agent never stored, e.g. while it was not
 * running; range of shelf-link frame sequence numbers).
 */
export interface Gap {
  id: number;
  device: string;
  kind: 'dropped' | 'link';
  reason: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  atMs: number;
}

/**
 * How far a replay controller's readings are stored [SL-REPLAY-5]: every reading of boot `bootId`
 * with a deviceTimeMs at or below `deviceTimeMs`.
 */
export interface ReplayPosition {
  bootId: number;
  deviceTimeMs: number;
}

export interface DeviceRecord {
  name: string;
  lastSeq: number;
  linkSeq: number | null;
  replay: ReplayPosition | null;
  serial: string | null;
  firmware: string | null;
  binCount: number | null;
  lastValues: ReadingValues | null;
}

export interface OutboxStats {
  depth: number;
  bytes: number;
  oldestTimeMs: number | null;
  droppedTotal: number;
  gapsUnreported: number;
}

/** Per-row bytes counted besides the body: rowid, device id, seq, time, index entry. */
export const ROW_OVERHEAD_BYTES = 40;

interface RowRef {
  id: number;
  device_id: number;
  seq: number;
  time_ms: number;
  len: number;
}

export class Outbox {
  readonly db: Database;
  private readonly opts: Required<Omit<OutboxOptions, 'onGap'>> & Pick<OutboxOptions, 'onGap'>;
  private depth = 0;
  private bytes = 0;
  private droppedTotal = 0;
  private readonly deviceIds = new Map<string, number>();
  private readonly deviceNames = new Map<number, string>();
  private readonly st: Statements;

  private constructor(options: OutboxOptions) {
    this.opts = { now: Date.now, ...options };
    const db = new BetterSqlite3(options.path);
    this.db = db;
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // A crash must never leave a half-applied batch: every write below is one transaction.
    db.pragma('foreign_keys = OFF');
    // 1 MB page cache: RSS stays flat whatever the queue depth (start-up sums the whole table
    // through it). Appends touch the right edge of the B-tree and drains the left edge: a few pages
    // each, so a bigger cache bought no ingest or drain rate (bench/run.ts), only resident memory.
    db.pragma('cache_size = -1000');
    migrate(db);
    this.st = prepareStatements(db);
    const totals = db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(length(body)), 0) AS b FROM readings')
      .get() as { n: number; b: number };
    this.depth = totals.n;
    this.bytes = totals.b + totals.n * ROW_OVERHEAD_BYTES;
    this.droppedTotal = Number(this.kvGet('dropped_total') ?? 0);
    for (const row of db.prepare('SELECT id, name FROM devices').all() as { id: number; name: string }[]) {
      this.deviceIds.set(row.name, row.id);
      this.deviceNames.set(row.id, row.name);
    }
  }

  static open(options: OutboxOptions): Outbox {
    for (const [k, v] of Object.entries({
      maxRows: options.maxRows,
      maxBytes: options.maxBytes,
      maxAgeMs: options.maxAgeMs,
    })) {
      if (!(v > 0)) throw new ValidationError(`outbox ${k} must be positive`);
    }
    return new Outbox(options);
  }

  private deviceId(name: string): number {
    let id = this.deviceIds.get(name);
    if (id === undefined) {
      id = Number(this.st.insertDevice.run(name, this.opts.now()).lastInsertRowid);
      this.deviceIds.set(name, id);
      this.deviceNames.set(id, name);
    }
    return id;
  }

  /** Records what a device said about itself (HELLO), for DBIRTH even while it is unplugged. */
  upsertDevice(name: string, info: { serial: string; firmware: string; binCount: number }): void {
    const id = this.deviceId(name);
    this.st.updateDeviceInfo.run(info.serial, info.firmware, info.binCount, this.opts.now(), id);
  }

  /** Remembers the last shelf-link frame seen from the device (so later losses are measurable). */
  setLinkSeq(name: string, linkSeq: number): void {
    this.st.setLink.run(linkSeq, this.deviceId(name));
  }

  device(name: string): DeviceRecord | undefined {
    const row = this.st.getDevice.get(name) as
      | {
          name: string;
          last_seq: number;
          link_seq: number | null;
          boot_id: number | null;
          stored_device_time_ms: number | null;
          serial: string | null;
          firmware: string | null;
          bin_count: number | null;
          last_values: Buffer | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      name: row.name,
      lastSeq: row.last_seq,
      linkSeq: row.link_seq,
      replay:
        row.boot_id === null || row.stored_device_time_ms === null
          ? null
          : { bootId: row.boot_id, deviceTimeMs: row.stored_device_time_ms },
      serial: row.serial,
      firmware: row.firmware,
      binCount: row.bin_count,
      lastValues: row.last_values ? decodeBody(row.last_values) : null,
    };
  }

  deviceNamesList(): string[] {
    return [...this.deviceIds.keys()];
  }

  lastSeq(name: string): number {
    return this.device(name)?.lastSeq ?? 0;
  }

  /**
   * Stores readings in one transaction and gives each the device's next seq. `linkSeq` (the
   * shelf-link frame sequence of the last frame included) is committed with them, so after a
   * crash the agent knows exactly which frames it never stored. `replay` (a replay controller's
   * newest reading in the batch) is committed with them too, so a reading is never both stored
   * and forgotten by the controller, nor stored twice [SL-REPLAY-5]. Returns the seq range, or
   * undefined when the outbox is full and the policy is `reject-new` (a gap is recorded).
   */
  append(
    device: string,
    readings: readonly NewReading[],
    linkSeq?: number,
    replay?: ReplayPosition,
  ): { firstSeq: number; lastSeq: number } | undefined {
    if (readings.length === 0) return undefined;
    const gaps: Gap[] = [];
    const result = this.db.transaction(() => {
      const id = this.deviceId(device);
      const last = (this.st.getDevice.get(device) as { last_seq: number }).last_seq;
      if (linkSeq !== undefined) this.st.setLink.run(linkSeq, id);
      if (replay) this.st.setReplay.run(replay.bootId, replay.deviceTimeMs, id);
      const now = this.opts.now();
      let addBytes = 0;
      const bodies = readings.map((r) => {
        const b = encodeBody(r);
        addBytes += b.length + ROW_OVERHEAD_BYTES;
        return b;
      });
      const full =
        this.depth + readings.length > this.opts.maxRows || this.bytes + addBytes > this.opts.maxBytes;
      if (full && this.opts.policy === 'reject-new') {
        // The seqs are still consumed so the hole is visible in the stream and matches the gap.
        this.st.setLast.run(last + readings.length, now, id);
        gaps.push(
          this.insertGap(
            device,
            'dropped',
            'outbox full (reject-new)',
            last + 1,
            last + readings.length,
            readings.length,
          ),
        );
        return undefined;
      }
      for (let i = 0; i < readings.length; i++) {
        this.st.insert.run(id, last + 1 + i, readings[i]!.timeMs, bodies[i]!);
      }
      this.st.setValues.run(bodies[bodies.length - 1]!, id);
      this.st.setLast.run(last + readings.length, now, id);
      this.depth += readings.length;
      this.bytes += addBytes;
      if (full) {
        const rowsOver = Math.max(0, this.depth - this.opts.maxRows);
        const bytesOver = Math.max(0, this.bytes - this.opts.maxBytes);
        gaps.push(
          ...this.dropOldest(
            (_row, dropped) => dropped.rows < rowsOver || dropped.bytes < bytesOver,
            'outbox full',
          ),
        );
      }
      return { firstSeq: last + 1, lastSeq: last + readings.length };
    })();
    for (const g of gaps) this.opts.onGap?.(g);
    return result;
  }

  /** Drops readings older than `maxAgeMs` (call periodically). */
  enforceAge(): Gap[] {
    const cutoff = this.opts.now() - this.opts.maxAgeMs;
    const gaps = this.db.transaction(() =>
      this.dropOldest((row) => row.time_ms < cutoff, 'older than max age'),
    )();
    for (const g of gaps) this.opts.onGap?.(g);
    return gaps;
  }

  /**
   * Walks from the oldest stored row while `more` says so, deletes those rows and records one
   * gap per device (the dropped rows of a device are its oldest, so they form one seq range).
   */
  private dropOldest(
    more: (row: RowRef, dropped: { rows: number; bytes: number }) => boolean,
    reason: string,
  ): Gap[] {
    const dropped = { rows: 0, bytes: 0 };
    const perDevice = new Map<number, { from: number; to: number; count: number }>();
    let cutoffId = 0;
    let after = 0;
    outer: for (;;) {
      const chunk = this.st.oldestChunk.all(after, 1000) as RowRef[];
      if (chunk.length === 0) break;
      for (const row of chunk) {
        if (!more(row, dropped)) break outer;
        dropped.rows++;
        dropped.bytes += row.len + ROW_OVERHEAD_BYTES;
        cutoffId = row.id;
        const d = perDevice.get(row.device_id);
        if (d) {
          d.from = Math.min(d.from, row.seq);
          d.to = Math.max(d.to, row.seq);
          d.count++;
        } else perDevice.set(row.device_id, { from: row.seq, to: row.seq, count: 1 });
      }
      after = chunk[chunk.length - 1]!.id;
    }
    if (dropped.rows === 0) return [];
    this.st.deleteUpTo.run(cutoffId);
    this.depth -= dropped.rows;
    this.bytes -= dropped.bytes;
    const gaps: Gap[] = [];
    for (const [deviceId, d] of perDevice) {
      gaps.push(
        this.insertGap(
          this.deviceNames.get(deviceId) ?? String(deviceId),
          'dropped',
          reason,
          d.from,
          d.to,
          d.count,
        ),
      );
    }
    return gaps;
  }

  private insertGap(
    device: string,
    kind: Gap['kind'],
    reason: string,
    from: number,
    to: number,
    count: number,
  ): Gap {
    const atMs = this.opts.now();
    const id = Number(this.st.insertGap.run(device, kind, reason, from, to, count, atMs).lastInsertRowid);
    if (kind === 'dropped') {
      this.droppedTotal += count;
      this.kvSet('dropped_total', String(this.droppedTotal));
    }
    return { id, device, kind, reason, fromSeq: from, toSeq: to, count, atMs };
  }

  /** Records frames the shelf sent that were never stored (detected from the link sequence). */
  recordLinkGap(
    device: string,
    fromLinkSeq: number,
    toLinkSeq: number,
    frames: number,
    reason = 'frames not received',
  ): Gap {
    const gap = this.db.transaction(() =>
      this.insertGap(device, 'link', reason, fromLinkSeq, toLinkSeq, frames),
    )();
    this.opts.onGap?.(gap);
    return gap;
  }

  /** Stored readings of a device with afterSeq < seq <= maxSeq, in seq order. */
  read(device: string, afterSeq: number, limit: number, maxSeq = Number.MAX_SAFE_INTEGER): StoredReading[] {
    const id = this.deviceIds.get(device);
    if (id === undefined) return [];
    const rows = this.st.read.all(id, afterSeq, maxSeq, limit) as {
      seq: number;
      time_ms: number;
      body: Buffer;
    }[];
    return rows.map((r) => ({ seq: r.seq, timeMs: r.time_ms, ...decodeBody(r.body) }));
  }

  /** Deletes readings the broker acknowledged; returns how many were still stored. */
  ack(device: string, fromSeq: number, toSeq: number): number {
    const id = this.deviceIds.get(device);
    if (id === undefined) return 0;
    return this.db.transaction(() => {
      const s = this.st.rangeStats.get(id, fromSeq, toSeq) as { n: number; b: number };
      if (s.n === 0) return 0;
      this.st.deleteRange.run(id, fromSeq, toSeq);
      this.depth -= s.n;
      this.bytes -= s.b + s.n * ROW_OVERHEAD_BYTES;
      return s.n;
    })();
  }

  unreportedGaps(limit = 100): Gap[] {
    const rows = this.db.prepare('SELECT * FROM gaps WHERE reported = 0 ORDER BY id LIMIT ?').all(limit) as {
      id: number;
      device: string;
      kind: Gap['kind'];
      reason: string;
      from_seq: number;
      to_seq: number;
      count: number;
      at_ms: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      device: r.device,
      kind: r.kind,
      reason: r.reason,
      fromSeq: r.from_seq,
      toSeq: r.to_seq,
      count: r.count,
      atMs: r.at_ms,
    }));
  }

  markGapsReported(ids: readonly number[]): void {
    const st = this.db.prepare('UPDATE gaps SET reported = 1 WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) st.run(id);
    })();
  }

  kvGet(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined)
      ?.value;
  }

  kvSet(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  stats(): OutboxStats {
    const oldest = this.st.oldest.get() as { time_ms: number } | undefined;
    const unreported = this.db.prepare('SELECT COUNT(*) AS n FROM gaps WHERE reported = 0').get() as {
      n: number;
    };
    return {
      depth: this.depth,
      bytes: this.bytes,
      oldestTimeMs: oldest?.time_ms ?? null,
      droppedTotal: this.droppedTotal,
      gapsUnreported: unreported.n,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
