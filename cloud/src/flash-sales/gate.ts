import { UnavailableError } from '@bitv/shared';

/**
 * A bounded queue in front of buying: at most `concurrency` buys run at once in this process,
 * at most `queue` wait (each at most `waitMs`), the rest are refused at once with 503. A burst of
 * a thousand buyers then holds a few database connections instead of the whole pool, waiting on
 * one sale row's lock (buyers of a sale are serialised by that lock anyway).
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
    private readonly waitMs: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue)
        throw new UnavailableError('too many buyers at once; retry shortly');
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new UnavailableError('waited too long for a turn to buy; retry shortly'));
        }, this.waitMs);
        this.waiting.push(go);
      });
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter (running stays the same), or frees.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}
