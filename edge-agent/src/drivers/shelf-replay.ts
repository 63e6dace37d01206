import { capability, type HelloMessage } from '@bitv/shared/shelf-link';
import type { ReplayPosition } from '../outbox/index.js';

/** Readings a replay controller no longer had when it replayed (device-time range, ms). */
export interface ReplayGap {
  fromMs: number;
  toMs: number;
  count: number;
}

/**
 * The host's side of shelf-link replay for one controller (docs/shelf-link.md [SL-REPLAY-5],
 * [SL-REPLAY-6]): which boot it is in, how far its readings are stored, which readings are
 * replays of stored ones, and how many it lost while the host was away.
 */
export class ReplayTracker {
  /** Boot of the controller, from its HELLO; undefined: it does not replay. */
  private bootId: number | undefined;
  private sampleIntervalMs = 0;
  /** The committed position (outbox), or null before the first stored reading. */
  private stored: ReplayPosition | null = null;
  /** Set by a HELLO: the next reading is the oldest the controller kept. */
  private firstAfterHello = false;

  get active(): boolean {
    return this.bootId !== undefined;
  }

  /** A HELLO arrived; `stored` is the committed position of that device. */
  hello(hello: HelloMessage, stored: ReplayPosition | null): void {
    const replay = (hello.capabilities & capability.replay) !== 0 && hello.bootId !== undefined;
    this.bootId = replay ? hello.bootId : undefined;
    this.stored = stored;
    this.sampleIntervalMs = hello.sampleRateMilliHz > 0 ? 1_000_000 / hello.sampleRateMilliHz : 0;
    this.firstAfterHello = replay;
  }

  /** The controller is gone (port closed, replaced): nothing is known until its next HELLO. */
  reset(): void {
    this.bootId = undefined;
    this.stored = null;
    this.firstAfterHello = false;
  }

  /**
   * For the first reading after a HELLO: the readings between the stored one and it, if more
   * than half an interval is missing beyond the usual step [SL-REPLAY-6]. Only within one boot: a
   * new boot's predecessor took its unstored readings with it, uncountable.
   */
  gapBefore(deviceTimeMs: number): ReplayGap | undefined {
    if (!this.firstAfterHello) return undefined;
    this.firstAfterHello = false;
    const s = this.stored;
    const interval = this.sampleIntervalMs;
    if (!s || s.bootId !== this.bootId || interval <= 0) return undefined;
    if (deviceTimeMs - s.deviceTimeMs <= 1.5 * interval) return undefined;
    const count = Math.round((deviceTimeMs - s.deviceTimeMs) / interval) - 1;
    return {
      fromMs: Math.round(s.deviceTimeMs + interval),
      toMs: Math.round(deviceTimeMs - interval),
      count,
    };
  }

  /**
   * Whether a reading at `deviceTimeMs` is already stored, or already in the batch being built
   * (up to `batchUpToMs`): a replay of it [SL-REPLAY-5].
   */
  isDuplicate(deviceTimeMs: number, batchUpToMs: number | undefined): boolean {
    if (batchUpToMs !== undefined && deviceTimeMs <= batchUpToMs) return true;
    const s = this.stored;
    return s !== null && s.bootId === this.bootId && deviceTimeMs <= s.deviceTimeMs;
  }

  /** The position to commit with a batch whose newest reading is at `deviceTimeMs`. */
  positionAt(deviceTimeMs: number): ReplayPosition | undefined {
    return this.bootId === undefined ? undefined : { bootId: this.bootId, deviceTimeMs };
  }

  /** A batch with `position` was committed. */
  committed(position: ReplayPosition): void {
    this.stored = position;
  }
}
