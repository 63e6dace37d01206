import type { Outbox, StoredReading } from '../outbox/index.js';

/**
 * What one session still has to send for one device. Readings stored before the session went
 * online (seq <= boundary) are the backlog and go up `is_historical`; later ones are live. Both
 * streams advance independently, each in seq order, so live data is never stuck behind a backlog.
 */
export interface DeviceCursor {
  device: string;
  boundary: number;
  backlogSent: number;
  liveSent: number;
}

export interface Chunk {
  device: string;
  historical: boolean;
  readings: StoredReading[];
}

export class Cursors {
  private readonly byDevice = new Map<string, DeviceCursor>();
  private turn = 0;

  constructor(private readonly outbox: Outbox) {}

  /** Starts a device's streams: everything stored up to now is backlog. */
  start(device: string): void {
    if (this.byDevice.has(device)) return;
    const boundary = this.outbox.lastSeq(device);
    this.byDevice.set(device, { device, boundary, backlogSent: 0, liveSent: boundary });
  }

  has(device: string): boolean {
    return this.byDevice.has(device);
  }

  delete(device: string): void {
    this.byDevice.delete(device);
  }

  devices(): string[] {
    return [...this.byDevice.keys()];
  }

  /** True when every stored reading of the device has been handed out in this session. */
  drained(device: string): boolean {
    const c = this.byDevice.get(device);
    if (!c) return true;
    return this.backlogDone(c) && this.outbox.read(device, c.liveSent, 1).length === 0;
  }

  private backlogDone(c: DeviceCursor): boolean {
    return (
      c.backlogSent >= c.boundary || this.outbox.read(c.device, c.backlogSent, 1, c.boundary).length === 0
    );
  }

  /**
   * The next message's worth of readings: live first (small, latency matters), round-robin over
   * devices, then backlog. Returns undefined when nothing is waiting.
   */
  next(limit: number): Chunk | undefined {
    const list = [...this.byDevice.values()];
    if (list.length === 0) return undefined;
    for (const historical of [false, true]) {
      for (let i = 0; i < list.length; i++) {
        const c = list[(this.turn + i) % list.length]!;
        if (historical && c.backlogSent >= c.boundary) continue;
        const readings = historical
          ? this.outbox.read(c.device, c.backlogSent, limit, c.boundary)
          : this.outbox.read(c.device, c.liveSent, limit);
        if (readings.length === 0) {
          if (historical) c.backlogSent = Math.max(c.backlogSent, c.boundary);
          continue;
        }
        const last = readings[readings.length - 1]!.seq;
        if (historical) c.backlogSent = last;
        else c.liveSent = last;
        this.turn = (this.turn + i + 1) % list.length;
        return { device: c.device, historical, readings };
      }
    }
    return undefined;
  }
}
