export interface PendingGap {
  device: string;
  from: number;
  to: number;
  count: number;
}

/**
 * Losses that could not be written down when they happened (the outbox itself failed): kept in
 * memory, bounded, and recorded as gaps once a write succeeds again.
 */
export class PendingGaps {
  private readonly pending: PendingGap[] = [];

  constructor(
    private readonly record: (gap: PendingGap) => void,
    private readonly max = 1000,
  ) {}

  add(device: string, from: number, to: number, count: number): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.device === device && ((last.to + 1) & 0xffff) === from) {
      last.to = to;
      last.count += count;
    } else if (this.pending.length < this.max) this.pending.push({ device, from, to, count });
    else this.pending[this.pending.length - 1]!.count += count; // bounded: fold into the last one
  }

  flush(): void {
    while (this.pending.length > 0) {
      this.record(this.pending[0]!);
      this.pending.shift();
    }
  }
}
