/**
 * Reading seqs a device's counting jumped over, per device, so that a reading arriving below the
 * watermark can be told apart: a late one (never seen: the agent sends live readings before its
 * backlog, docs/edge-agent.md) or a duplicate (a redelivery). In memory and bounded: after a
 * restart, or past `maxRanges` holes of one device (the oldest forgotten), a late reading is taken
 * for a duplicate, which is what it was before this was tracked.
 */
export class SeqHoles {
  /** Per device, inclusive ranges `[from, to]`, ascending and disjoint. */
  private readonly holes = new Map<string, [number, number][]>();

  constructor(private readonly maxRanges = 1_000) {}

  /** Seqs `from..to` were skipped over: a later reading among them is late, not a duplicate. */
  skip(device: string, from: number, to: number): void {
    if (to < from) return;
    const ranges = this.holes.get(device) ?? [];
    ranges.push([from, to]); // the watermark only rises, so each skip lies above the earlier ones
    if (ranges.length > this.maxRanges) ranges.shift();
    this.holes.set(device, ranges);
  }

  /** True when `seq` was a hole (now filled): a late reading, seen for the first time. */
  fill(device: string, seq: number): boolean {
    const ranges = this.holes.get(device);
    if (!ranges) return false;
    const i = ranges.findIndex(([from, to]) => seq >= from && seq <= to);
    if (i < 0) return false;
    const [from, to] = ranges[i] as [number, number];
    const rest: [number, number][] = [];
    if (from < seq) rest.push([from, seq - 1]);
    if (seq < to) rest.push([seq + 1, to]);
    ranges.splice(i, 1, ...rest);
    if (ranges.length === 0) this.holes.delete(device);
    return true;
  }

  forget(device: string): void {
    this.holes.delete(device);
  }
}
