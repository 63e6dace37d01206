import type { StockChanged } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';

/** One committed count change, with when the reading that caused it was taken (weight changes). */
export interface StockChange {
  event: StockChanged;
  readingTime?: string;
}

export type StockListener = (changes: readonly StockChange[]) => Promise<void>;

/**
 * Count changes told in process, right after they commit and reach the live channel and before the
 * `bv.inventory` publish: the shortest path from a settled weight to another module (a pick
 * confirmed by the weight that left the bin). Listeners run one after another, in commit order;
 * a listener that throws is logged and skipped, it never undoes or delays the count for the others.
 */
export class StockFeed {
  private readonly listeners = new Set<StockListener>();

  constructor(private readonly logger: Logger) {}

  /** Returns the unsubscribe function. */
  subscribe(listener: StockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async emit(changes: readonly StockChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        await listener(changes);
      } catch (error) {
        this.logger.error({ err: error, changes: changes.length }, 'stock listener failed');
      }
    }
  }
}
