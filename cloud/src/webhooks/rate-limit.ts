/**
 * Per-endpoint token buckets (capacity one second's worth, at least 1): `take` returns 0 when a
 * token was taken, else how long until one is there. In-process: with several processes each
 * holds its own buckets, so an endpoint's ceiling is the rate times the processes.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  take(key: string, ratePerSecond: number): number {
    const capacity = Math.max(1, ratePerSecond);
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + ((t - b.at) / 1000) * ratePerSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / ratePerSecond) * 1000);
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
