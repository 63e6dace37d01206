import type { ReadingsMessage } from '@bitv/shared/shelf-link';

/**
 * A replay controller's memory of its READINGS [SL-REPLAY-1]: every reading of this boot not yet
 * covered by a STORED, oldest first, and a cursor at the next one to put on the wire. Bounded: a
 * full store drops its oldest reading [SL-REPLAY-4]. RAM only: a boot starts with `clear()`.
 */
export class ReplayStore {
  private kept: ReadingsMessage[] = [];
  private cursor = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict: () => void,
  ) {}

  get size(): number {
    return this.kept.length;
  }

  clear(): void {
    this.kept = [];
    this.cursor = 0;
  }

  add(readings: ReadingsMessage): void {
    if (this.kept.length >= this.capacity) {
      this.kept.shift();
      if (this.cursor > 0) this.cursor--;
      this.onEvict();
    }
    this.kept.push(readings);
  }

  /** The next reading to send (a new one, or the next of a replay); undefined when all went out. */
  next(): ReadingsMessage | undefined {
    return this.kept[this.cursor];
  }

  /** The reading `next()` gave is on the wire. */
  sent(): void {
    this.cursor++;
  }

  /** Send everything kept again, oldest first [SL-REPLAY-3]. */
  rewind(): void {
    this.cursor = 0;
  }

  /** Forgets the readings up to `deviceTimeMs` (in sending order), which the host has stored [SL-STORED-1]. */
  storedUpTo(deviceTimeMs: number): void {
    let n = 0;
    while (n < this.kept.length && this.kept[n]!.deviceTimeMs <= deviceTimeMs) n++;
    if (n === 0) return;
    this.kept.splice(0, n);
    this.cursor = Math.max(0, this.cursor - n);
  }
}
