/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): wall-clock
 * milliseconds plus a counter, so events of two sites compare in an order consistent with
 * causality (a receive is later than the send it saw) and close to real time. A timestamp is a
 * fixed-width string (`<ms, 13 digits>-<counter, 5 digits>-<node>`), so plain string comparison is
 * the clock order and two timestamps of different nodes never tie.
 *
 * Written here rather than taken from npm: the few HLC packages there (`hlc`, `@consento/hlc`,
 * `hybrid-logical-clock`) are unmaintained or bigint-nanosecond based; this is the paper's two rules.
 */
export interface HlcTimestamp {
  wallMs: number;
  counter: number;
  node: string;
}

const maxCounter = 99_999;
const nodePattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const encoded = /^(\d{13})-(\d{5})-([A-Za-z0-9_.:-]{1,64})$/;

export class HlcError extends Error {
  override readonly name = 'HlcError';
}

export function encodeHlc(t: HlcTimestamp): string {
  return `${String(t.wallMs).padStart(13, '0')}-${String(t.counter).padStart(5, '0')}-${t.node}`;
}

export function decodeHlc(text: string): HlcTimestamp {
  const m = encoded.exec(text);
  if (!m) throw new HlcError(`not an HLC timestamp: ${JSON.stringify(text.slice(0, 100))}`);
  return { wallMs: Number(m[1]), counter: Number(m[2]), node: m[3] as string };
}

export function isHlc(text: string): boolean {
  return encoded.test(text);
}

/** Clock order of two encoded timestamps (negative: a first). */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface HlcOptions {
  /** The wall clock (ms); tests pass a controlled one. */
  now?: () => number;
  /** A remote timestamp further than this ahead of our wall clock is refused (a broken clock). */
  maxDriftMs?: number;
}

export class HybridLogicalClock {
  private wallMs = 0;
  private counter = 0;
  private readonly now: () => number;
  private readonly maxDriftMs: number;

  constructor(
    readonly node: string,
    options: HlcOptions = {},
  ) {
    if (!nodePattern.test(node)) throw new HlcError(`HLC node id must match ${nodePattern}: ${node}`);
    this.now = options.now ?? Date.now;
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
  }

  /** A timestamp for a local event (send rule). */
  tick(): string {
    const physical = this.now();
    if (physical > this.wallMs) {
      this.wallMs = physical;
      this.counter = 0;
    } else this.bump();
    return this.current();
  }

  /** Merges a remote event's timestamp (receive rule); returns the local timestamp after it. */
  receive(remote: string): string {
    const r = decodeHlc(remote);
    const physical = this.now();
    if (r.wallMs - physical > this.maxDriftMs) {
      throw new HlcError(
        `remote clock ${r.node} is ${r.wallMs - physical} ms ahead (limit ${this.maxDriftMs})`,
      );
    }
    const wall = Math.max(this.wallMs, r.wallMs, physical);
    if (wall === this.wallMs && wall === r.wallMs) this.counter = Math.max(this.counter, r.counter) + 1;
    else if (wall === this.wallMs) this.counter += 1;
    else if (wall === r.wallMs) this.counter = r.counter + 1;
    else this.counter = 0;
    this.wallMs = wall;
    if (this.counter > maxCounter) this.bump();
    return this.current();
  }

  private bump(): void {
    this.counter += 1;
    // The counter's width is fixed; past it the clock steps its millisecond forward.
    if (this.counter > maxCounter) {
      this.wallMs += 1;
      this.counter = 0;
    }
  }

  private current(): string {
    return encodeHlc({ wallMs: this.wallMs, counter: this.counter, node: this.node });
  }
}
