import type { Logger } from '@bitv/shared/log';
import type { WebhookStore } from './store.js';

export interface RelayOptions {
  /** Rows claimed and published per round. */
  batchSize: number;
  /** How long a claim keeps other relays off its rows (a relay that died mid-batch). */
  leaseMs: number;
  /** When a failed publish (or a round the database refused) is tried again. */
  retryDelayMs: number;
  /** How often a started relay looks for rows nobody woke it for (claims lapsed elsewhere). */
  sweepMs: number;
}

export const relayDefaults: RelayOptions = {
  batchSize: 500,
  leaseMs: 30_000,
  retryDelayMs: 1_000,
  sweepMs: 5_000,
};

/** Puts one stored delivery on the queue; resolves once the queue holds it (publisher confirm). */
export type Publish = (delivery: { id: string; endpointId: string }) => Promise<void>;

/**
 * Moves stored deliveries onto the queue in batches (a transactional outbox): the event consumer
 * only inserts rows and wakes the relay, the relay claims every row not yet enqueued, publishes
 * them all with their confirms awaited together, and marks them enqueued in one statement. Under
 * a burst the rows stored while one batch is out make the next; a single event goes out at once.
 * A publish that fails leaves its row unenqueued, so it is claimed again (at least once; the
 * consumer skips a delivery already settled).
 */
export class DeliveryRelay {
  private readonly options: RelayOptions;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private sweep: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: WebhookStore,
    private readonly publish: Publish,
    private readonly logger: Logger,
    options: Partial<RelayOptions> = {},
  ) {
    this.options = { ...relayDefaults, ...options };
  }

  /** New rows may be waiting: run a round now, or once more after the one in progress. */
  wake(): void {
    if (this.closed) return;
    this.again = true;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no round is in progress (tests and close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Sweeps now and every `sweepMs`: rows stored before a crash, or claimed by a relay that died. */
  start(): void {
    if (this.closed || this.sweep) return;
    this.sweep = setInterval(() => this.wake(), this.options.sweepMs);
    this.sweep.unref();
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    clearTimeout(this.retryTimer);
    await this.idle();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
      // A little after the released claims lapse (the database's clock decides when they do).
    }, this.options.retryDelayMs + 100);
  }

  private async drain(): Promise<void> {
    // Bounded by the rows there are: a round that claims a full batch asks again, one that claims
    // fewer ends the loop unless woken meanwhile.
    while (this.again && !this.closed) {
      this.again = false;
      try {
        const claimed = await this.round();
        if (claimed === this.options.batchSize) this.again = true;
      } catch (error) {
        // Database unreachable: the rows stay unenqueued; the next wake or sweep claims them.
        this.logger.warn({ err: error }, 'webhook relay round failed; its rows are claimed again later');
        this.retryLater();
        return;
      }
    }
  }

  private async round(): Promise<number> {
    const { batchSize, leaseMs, retryDelayMs } = this.options;
    const rows = await this.store.claimUnenqueued(batchSize, leaseMs);
    if (rows.length === 0) return 0;
    const outcomes = await Promise.allSettled(rows.map((row) => this.publish(row)));
    const sent: string[] = [];
    const failed: string[] = [];
    let firstError: unknown;
    outcomes.forEach((o, i) => {
      const id = rows[i]?.id;
      if (id === undefined) return;
      if (o.status === 'fulfilled') sent.push(id);
      else {
        failed.push(id);
        firstError ??= o.reason;
      }
    });
    await this.store.markEnqueued(sent);
    if (failed.length > 0) {
      this.logger.warn(
        { err: firstError, failed: failed.length, sent: sent.length },
        'webhook deliveries not enqueued; tried again shortly',
      );
      await this.store.releaseClaims(failed, retryDelayMs);
      this.retryLater();
    }
    return rows.length;
  }
}
