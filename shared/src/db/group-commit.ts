/**
 * Group commit: requests that arrive while a batch is being written wait and go together in the
 * next one, so N callers at once cost one transaction instead of N (fewer round trips and one
 * turn at the event store's order lock). A lone request is written at once (no timer, no added
 * latency when the system is quiet). `work` answers each request in its own slot: one request's
 * failure is its own.
 */
export class GroupCommit<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly work: (items: readonly I[]) => Promise<(O | Error)[]>,
    private readonly options: {
      maxBatch: number;
      maxInFlight: number;
      /**
       * A batch starts at least this long after the previous one started (default 0): requests
       * that come in between wait and go together. For a store whose cost is per transaction
       * rather than per row, under a steady trickle that would otherwise be one request a batch.
       */
      minIntervalMs?: number;
    },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxInFlight && this.pending.length > 0) {
      const wait = this.lastStart + (this.options.minIntervalMs ?? 0) - performance.now();
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.lastStart = performance.now();
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.running += 1;
      void this.write(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async write(batch: typeof this.pending): Promise<void> {
    try {
      const outcomes = await this.work(batch.map((b) => b.item));
      batch.forEach((b, i) => {
        const o = outcomes[i];
        if (o instanceof Error) b.reject(o);
        else if (o === undefined) b.reject(new Error('group commit gave no answer for a request'));
        else b.resolve(o);
      });
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
  }
}
