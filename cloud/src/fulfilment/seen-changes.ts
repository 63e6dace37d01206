import type { StockChanged } from '@bitv/shared/events';

/**
 * Weight count changes already handed to fulfilment, so the event log's copy of one the
 * in-process feed delivered is skipped. A weight change is identified by its reading (edge node,
 * device, seq) and bin. Bounded: the oldest keys go first; a copy arriving after its key left is
 * decided again, which the decider's absolute counts make harmless for lines.
 */
export class SeenChanges {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** True the first time a change is offered; changes without a reading are always new. */
  firstTime(change: StockChanged): boolean {
    if (!change.reading) return true;
    const key = `${change.reading.edgeNodeId}/${change.reading.deviceId}/${change.reading.seq}/${change.bin}`;
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}
