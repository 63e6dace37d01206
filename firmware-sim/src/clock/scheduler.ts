/**
 * Discrete-event scheduler on virtual time. Events run in (time, insertion) order, so what a
 * simulation computes depends only on virtual time and the seed, never on how the host's
 * timers happened to fire. A pump maps virtual time onto wall time at `speed` (2 = twice as fast
 * as real time) and runs every event whose time has come.
 */
interface Entry {
  at: number;
  order: number;
  run: () => void;
  cancelled: boolean;
}

export interface Timer {
  cancel(): void;
}

export interface SchedulerOptions {
  speed: number;
  /** Wall clock in ms (injectable for tests). */
  wallNow?: () => number;
  /** Called when an event throws; the scheduler keeps running. */
  onError?: (error: unknown) => void;
}

export class Scheduler {
  private readonly heap: Entry[] = [];
  private order = 0;
  private virtualNow = 0;
  private wallAtStart: number;
  private virtualAtStart = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly wallNow: () => number;
  private readonly onError: (error: unknown) => void;
  readonly speed: number;

  constructor(options: SchedulerOptions) {
    if (!(options.speed > 0)) throw new RangeError(`speed must be > 0, got ${options.speed}`);
    this.speed = options.speed;
    this.wallNow = options.wallNow ?? (() => performance.now());
    this.onError =
      options.onError ??
      ((error) =>
        queueMicrotask(() => {
          throw error;
        }));
    this.wallAtStart = this.wallNow();
  }

  /** Current virtual time in ms since the simulation started. */
  now(): number {
    return this.virtualNow;
  }

  /** Runs `run` at virtual time `now() + delayMs`. */
  after(delayMs: number, run: () => void): Timer {
    return this.at(this.virtualNow + Math.max(0, delayMs), run);
  }

  at(time: number, run: () => void): Timer {
    const entry: Entry = { at: Math.max(time, this.virtualNow), order: this.order++, run, cancelled: false };
    this.push(entry);
    if (this.running) this.arm();
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Starts following wall time. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.wallAtStart = this.wallNow();
    this.virtualAtStart = this.virtualNow;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs every event up to virtual time `until` without waiting (for tests and for the
   * "as fast as possible" mode). Bounded by `maxEvents` so a runaway timeline cannot hang.
   */
  advanceTo(until: number, maxEvents = 10_000_000): void {
    let n = 0;
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > until) break;
      if (++n > maxEvents) throw new RangeError(`more than ${maxEvents} events before ${until} ms`);
      this.runTop();
    }
    this.virtualNow = Math.max(this.virtualNow, until);
    if (this.running) {
      this.wallAtStart = this.wallNow();
      this.virtualAtStart = this.virtualNow;
    }
  }

  private runTop(): void {
    const e = this.pop()!;
    if (e.cancelled) return;
    this.virtualNow = e.at;
    try {
      e.run();
    } catch (error) {
      this.onError(error);
    }
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.heap[0]?.cancelled) this.pop();
    const top = this.heap[0];
    if (!top || !this.running) return;
    const wallDue = this.wallAtStart + (top.at - this.virtualAtStart) / this.speed;
    this.timer = setTimeout(() => this.pump(), Math.max(0, wallDue - this.wallNow()));
  }

  private pump(): void {
    this.timer = undefined;
    const target = this.virtualAtStart + (this.wallNow() - this.wallAtStart) * this.speed;
    // Run what is due, but in slices of at most ~20 ms of wall time: an overloaded simulation
    // (too many shelves at too high a speed) falls behind instead of starving the I/O that
    // carries its frames.
    const sliceEnd = this.wallNow() + 20;
    for (let n = 1; ; n++) {
      const top = this.heap[0];
      if (!top || top.at > target || !this.running) break;
      this.runTop();
      if ((n & 63) === 0 && this.wallNow() > sliceEnd) break;
    }
    const next = this.heap[0];
    if ((!next || next.at > target) && this.virtualNow < target) this.virtualNow = target;
    this.arm();
  }

  // Binary heap on (at, order).
  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
