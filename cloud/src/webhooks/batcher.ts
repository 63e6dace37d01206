/**
 * Coalesces concurrent calls into one batched call: items added while a batch is in flight wait
 * for the next one, so under load each database round trip (and each commit) serves many
 * deliveries. A batch starts on `setImmediate`, after the current turn of the event loop: the
 * deliveries a broker read brings in one socket chunk (or the answers read in one poll) all join
 * it, where starting at once sent the first alone and the rest a round trip later. Alone, an item
 * waits no timer. Each caller gets its own item's result, or the batch's error (the caller then
 * fails as it would have alone).
 */
export class Batcher<I, O> {
  private waiting: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    /** Results in the order of `items`. */
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 200,
    /** Batches running at once (each holds a database connection). */
    private readonly maxInFlight = 2,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.next();
    });
  }

  private next(): void {
    // Bounded by maxInFlight: each turn starts at most that many batches.
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) this.start();
  }

  private start(): void {
    const batch = this.waiting.splice(0, this.maxBatch);
    this.inFlight++;
    this.run(batch.map((b) => b.item))
      .then(
        (results) => {
          for (const [i, b] of batch.entries()) b.resolve(results[i] as O);
        },
        (error: unknown) => {
          for (const b of batch) b.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}
