import type { Logger } from '@bitv/shared/log';
import { counter, gauge, type Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { FeedItem, PostView } from './post.js';

export interface FeedStreamSettings {
  /** A comment line this often keeps proxies from closing an idle stream and finds vanished clients. */
  heartbeatMs: number;
  /** Events queued for one client beyond what its socket took; past it the client is dropped. */
  maxBufferedEvents: number;
  /** Items read from the database per catch-up query. */
  catchUpBatch: number;
}

export const feedStreamDefaults: FeedStreamSettings = {
  heartbeatMs: 15_000,
  maxBufferedEvents: 256,
  catchUpBatch: 200,
};

export type DropReason = 'closed' | 'write_failed' | 'slow' | 'shutdown' | 'error';

interface Subscriber {
  userId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** The last sequence written to this client. */
  last: number;
  /** Its starting sequence is still being read: deliveries meanwhile only mark `again`. */
  starting: boolean;
  pumping: boolean;
  /** A delivery came while pumping: read again before stopping. */
  again: boolean;
  open: boolean;
}

const encoder = new TextEncoder();
const heartbeatChunk = encoder.encode(': heartbeat\n\n');

/** `id:` is the reader's feed sequence: a reconnecting EventSource sends it back as `Last-Event-ID`. */
export function sseEvent(item: FeedItem): Uint8Array {
  return encoder.encode(`id: ${item.seq}\nevent: post\ndata: ${JSON.stringify(item)}\n\n`);
}

/**
 * The home feed's Server-Sent Events streams in this process. A client resumes after its
 * `Last-Event-ID` from the database; later items come from deliveries (the writing process's
 * message through the cache's pub/sub), written at once when they follow the last one sent, and
 * otherwise read from the database, so a gap is always filled from the one source of truth.
 *
 * Each client's stream is a ReadableStream whose queue is the client's buffer: the HTTP server
 * reads it only as fast as the socket drains, so a client whose queue passes `maxBufferedEvents`
 * is dropped (counted as `slow`); it may reconnect with its last id and lose nothing. A closed
 * socket cancels the stream at once (`closed`); a heartbeat that cannot be queued (`write_failed`)
 * removes the client at the latest one heartbeat after it vanished.
 */
export class FeedStreams {
  private readonly byUser = new Map<string, Set<Subscriber>>();
  private readonly timer: NodeJS.Timeout;
  private readonly dropped;
  private readonly opened;
  private readonly sent;
  private readonly clients;
  private count = 0;

  constructor(
    private readonly source: {
      itemsAfter(userId: string, afterSeq: number, limit: number): Promise<FeedItem[]>;
      /**
       * Called once the stream is registered: merges what the reader follows above the fan-out
       * threshold and answers where a stream without a resume point starts (the reader's last
       * sequence before that merge).
       */
      streamStart(userId: string): Promise<number>;
    },
    private readonly settings: FeedStreamSettings,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
  ) {
    this.dropped = counter(
      metrics,
      'bv_feed_sse_dropped_total',
      'Home-feed SSE clients removed, by reason (closed, write_failed, slow, shutdown, error)',
      ['reason'],
    );
    this.opened = counter(metrics, 'bv_feed_sse_opened_total', 'Home-feed SSE streams opened');
    this.sent = counter(
      metrics,
      'bv_feed_sse_events_total',
      'Home-feed SSE events written, by path (live, catch_up)',
      ['path'],
    );
    this.clients = gauge(metrics, 'bv_feed_sse_clients', 'Home-feed SSE clients connected to this process');
    this.timer = setInterval(() => this.heartbeat(), settings.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.count;
  }

  /** Users with at least one open stream here (for merging not-fanned-out posts live). */
  onlineUsers(): string[] {
    return [...this.byUser.keys()];
  }

  /**
   * The response body of one client's stream, resuming after `afterSeq`, or without it starting at
   * the reader's last sequence. The client is registered before the start merges and reads that
   * sequence, so a post written meanwhile is either merged or delivered by the start, or reaches
   * the client (a merged post's message finds the reader online): nothing falls between. Only a
   * resume (or a delivery during the start) reads items from the database.
   */
  open(userId: string, afterSeq: number | undefined): ReadableStream<Uint8Array> {
    let sub: Subscriber | undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          sub = {
            userId,
            controller,
            last: afterSeq ?? 0,
            starting: true,
            pumping: false,
            again: false,
            open: true,
          };
          let set = this.byUser.get(userId);
          if (!set) {
            set = new Set();
            this.byUser.set(userId, set);
          }
          set.add(sub);
          this.count += 1;
          this.clients.set(this.count);
          this.opened.inc();
          // `retry:` tells EventSource how soon to reconnect; the comment flushes the headers.
          controller.enqueue(encoder.encode('retry: 2000\n: connected\n\n'));
          this.begin(sub, afterSeq);
        },
        cancel: () => {
          if (sub) this.remove(sub, 'closed');
        },
      },
      // Counted in chunks (events): `desiredSize` goes negative as the client falls behind.
      { highWaterMark: this.settings.maxBufferedEvents },
    );
  }

  /** A post reached `userId`'s feed as `seq` (from any process). */
  deliver(userId: string, seq: number, post?: PostView): void {
    const set = this.byUser.get(userId);
    if (!set) return;
    for (const sub of set) {
      if (sub.starting) {
        sub.again = true;
        continue;
      }
      if (seq <= sub.last) continue;
      if (post && seq === sub.last + 1 && !sub.pumping && !post.hidden) {
        if (this.write(sub, sseEvent({ seq, post }))) {
          sub.last = seq;
          this.sent.inc({ path: 'live' });
        }
      } else {
        this.pump(sub);
      }
    }
  }

  /** Wakes a user's streams to read what the database has after their last event. */
  wake(userId: string): void {
    for (const sub of this.byUser.get(userId) ?? []) this.pump(sub);
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of [...this.byUser.values()]) {
      for (const sub of [...set]) {
        this.remove(sub, 'shutdown');
        try {
          sub.controller.close();
        } catch {
          // Already cancelled by the client: nothing left to close.
        }
      }
    }
  }

  private begin(sub: Subscriber, afterSeq: number | undefined): void {
    this.source.streamStart(sub.userId).then(
      (last) => {
        sub.last = afterSeq ?? last;
        sub.starting = false;
        if (sub.again || afterSeq !== undefined) this.pump(sub);
      },
      (error: unknown) => this.fail(sub, error),
    );
  }

  /** The database did not answer: end this stream; the client reconnects with its last id. */
  private fail(sub: Subscriber, error: unknown): void {
    this.logger.warn({ err: error, userId: sub.userId }, 'feed stream read failed');
    this.remove(sub, 'error');
    try {
      sub.controller.close();
    } catch {
      // Cancelled meanwhile: nothing to close.
    }
  }

  private pump(sub: Subscriber): void {
    if (!sub.open) return;
    if (sub.pumping || sub.starting) {
      sub.again = true;
      return;
    }
    sub.pumping = true;
    void (async () => {
      try {
        do {
          sub.again = false;
          for (;;) {
            const items = await this.source.itemsAfter(sub.userId, sub.last, this.settings.catchUpBatch);
            for (const item of items) {
              if (!sub.open || !this.write(sub, sseEvent(item))) return;
              sub.last = item.seq;
              this.sent.inc({ path: 'catch_up' });
            }
            if (items.length < this.settings.catchUpBatch) break;
          }
        } while (sub.again && sub.open);
      } catch (error) {
        this.fail(sub, error);
      } finally {
        sub.pumping = false;
      }
    })();
  }

  /** Queues a chunk; false (and the client removed) when it is gone or too far behind. */
  private write(sub: Subscriber, chunk: Uint8Array): boolean {
    if (!sub.open) return false;
    const backlog = sub.controller.desiredSize;
    if (backlog !== null && backlog <= 0) {
      this.remove(sub, 'slow');
      try {
        sub.controller.error(new Error('client too slow'));
      } catch {
        // Already errored or cancelled.
      }
      return false;
    }
    try {
      sub.controller.enqueue(chunk);
      return true;
    } catch {
      this.remove(sub, 'write_failed');
      return false;
    }
  }

  private heartbeat(): void {
    for (const set of this.byUser.values()) {
      for (const sub of set) this.write(sub, heartbeatChunk);
    }
  }

  private remove(sub: Subscriber, reason: DropReason): void {
    if (!sub.open) return;
    sub.open = false;
    const set = this.byUser.get(sub.userId);
    set?.delete(sub);
    if (set?.size === 0) this.byUser.delete(sub.userId);
    this.count -= 1;
    this.clients.set(this.count);
    this.dropped.inc({ reason });
    this.logger.debug({ userId: sub.userId, reason }, 'feed stream removed');
  }
}
