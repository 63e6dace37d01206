import type { EventStoreTransaction, StoredEvent } from './port.js';

/**
 * A read model kept from the event store. Its rows and its checkpoint are written in one
 * transaction, so after a crash it resumes exactly after the last batch it committed: no event
 * applied twice, none missed. `apply` sees one event at a time; `applyBatch`, when given, gets
 * the whole batch (for projections that write many rows in one statement, e.g. a rebuild).
 */
export interface Projection {
  name: string;
  /** Event types it reads; absent reads every event. */
  types?: readonly string[];
  /**
   * Another projection of the same runner whose rows this one reads: it is applied no further than
   * that one's checkpoint. Running after it in the list is not enough, since an event committed
   * between the two reads would reach this one first.
   */
  follows?: string;
  apply?(tx: EventStoreTransaction, event: StoredEvent): Promise<void>;
  applyBatch?(tx: EventStoreTransaction, events: readonly StoredEvent[]): Promise<void>;
  /** Empties its rows before a rebuild from position zero; a projection without it cannot be rebuilt. */
  reset?(tx: EventStoreTransaction): Promise<void>;
}

export async function applyEvents(
  projection: Projection,
  tx: EventStoreTransaction,
  events: readonly StoredEvent[],
): Promise<void> {
  if (projection.applyBatch) {
    await projection.applyBatch(tx, events);
    return;
  }
  if (!projection.apply) throw new Error(`projection ${projection.name} has neither apply nor applyBatch`);
  for (const event of events) await projection.apply(tx, event);
}
