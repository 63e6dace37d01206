import { eventFromJson, eventToJson } from '../../events/index.js';
import {
  deadLetterAttributes,
  deadLetterEvent,
  deliver,
  describeError,
  isDeadLetterTopic,
  validateConsumed,
} from '../delivery.js';
import type { DatabaseSubscription, FetchedRow } from './consumer.js';
import type { StoredRecord } from './store.js';

/** Handles one partition's events in order: deliver, then commit offset + 1. */
export class PartitionWorker {
  end = 0;
  /** The last fetch that gave it rows: whether it was a full batch, and the topic's appends before it. */
  fetched: { full: boolean; appends: number } | undefined;
  readonly labels: { topic: string; group: string; partition: string };
  private queue: FetchedRow[] = [];
  private running: Promise<void> | undefined;
  private revoked = false;
  /** Rows of a failed batch still to go through `handle` one at a time. */
  private oneByOne = 0;
  /** The offset to commit next, while a commit is in flight; written when that one is done. */
  private toCommit: number | undefined;
  private committing: Promise<void> | undefined;
  /** Why the commits stopped (lease lost, database error): the worker stops at its next event. */
  private commitFailure: Error | undefined;
  /** Aborted on close or when the partition is lost: ends retries without committing. */
  private readonly stop = new AbortController();
  readonly signal: AbortSignal;

  constructor(
    private readonly sub: DatabaseSubscription,
    readonly topic: string,
    readonly partition: number,
    /** Next offset to fetch (everything before it is committed or queued). */
    public position: number,
  ) {
    this.labels = { topic, group: sub.options.group, partition: String(partition) };
    this.signal = AbortSignal.any([sub.signal, this.stop.signal]);
  }

  get idle(): boolean {
    return !this.revoked && this.running === undefined && this.queue.length === 0;
  }

  enqueue(rows: FetchedRow[]): void {
    const last = rows[rows.length - 1];
    if (!last) return;
    this.queue.push(...rows);
    this.position = last.position + 1;
    this.running ??= this.drain();
  }

  revoke(reason: string): void {
    if (this.revoked) return;
    this.revoked = true;
    this.stop.abort(new Error(`partition revoked: ${reason}`));
    this.sub.host.logger.info({ ...this.where, reason }, 'partition revoked');
    if (this.running === undefined) this.sub.workerFinished(this, true);
  }

  /** Log fields (the logger already carries the group). */
  private get where() {
    return { topic: this.topic, partition: this.partition };
  }

  /** Resolves once the worker has stopped handling and its last commit is written (or failed). */
  async done(): Promise<void> {
    await this.running;
    await this.committing;
  }

  /**
   * Commits `next` without holding up the next event: the handler of event n+1 runs while the
   * commit of n travels, and offsets handled meanwhile go out as one commit. An event is still
   * committed only after it was handled (at least once); what a lost lease or a failed commit
   * costs is that the worker notices one event later, and that event is delivered again
   * elsewhere, as any event handled but not committed is.
   */
  private commitAhead(next: number): void {
    this.toCommit = next;
    this.committing ??= this.writeCommits();
  }

  private async writeCommits(): Promise<void> {
    try {
      for (let next = this.toCommit; next !== undefined; next = this.toCommit) {
        this.toCommit = undefined;
        if (!(await this.sub.commit(this, next))) {
          this.commitFailure = new Error('commit refused: lease lost');
          this.sub.host.logger.warn({ ...this.where, offset: next - 1 }, 'commit refused: lease lost');
          return;
        }
      }
    } catch (error) {
      this.commitFailure = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.committing = undefined;
      this.toCommit = undefined;
    }
  }

  /** Throws what stopped the commits, so `drain` stops as it did when it awaited each one. */
  private checkCommits(): void {
    if (this.commitFailure) throw this.commitFailure;
  }

  private async drain(): Promise<void> {
    let stopped = false;
    try {
      for (;;) {
        this.checkCommits();
        const row = this.queue[0];
        if (!row || this.signal.aborted) break;
        const batched = await this.handleBatch();
        if (batched === 'stopped') {
          stopped = true;
          break;
        }
        if (batched > 0) {
          this.queue.splice(0, batched);
          continue;
        }
        if (!(await this.handle(row))) {
          stopped = true;
          break;
        }
        this.queue.shift();
      }
    } catch (error) {
      // A failed commit (database down, lease lost) must not lose the event: drop the queue and
      // let a fresh worker re-read from the last committed offset once the lease is refreshed.
      stopped = true;
      this.sub.host.logger.warn(
        { err: error, ...this.where },
        'event log partition worker failed; will resume',
      );
    } finally {
      this.running = undefined;
      if (stopped || this.revoked) {
        this.revoked = true;
        this.queue = [];
      }
      this.sub.workerFinished(this, stopped || this.revoked);
    }
  }

  /**
   * With a batch handler: the leading run of valid events goes to it at once and is committed with
   * one statement. Returns how many rows that settled; 0 hands the head row to `handle` (an
   * invalid record, a single event, or a batch that failed and is retried one event at a time).
   */
  private async handleBatch(): Promise<number | 'stopped'> {
    const { host, options } = this.sub;
    const batchHandler = options.batchHandler;
    if (!batchHandler || this.queue.length < 2) return 0;
    if (this.oneByOne > 0) {
      this.oneByOne--;
      return 0;
    }
    const events = [];
    for (const row of this.queue) {
      try {
        const event = eventFromJson(row.event);
        validateConsumed(host.registry, this.topic, event);
        events.push(event);
      } catch {
        break; // the invalid one is dead-lettered by `handle` once the run before it is done
      }
    }
    const last = this.queue[events.length - 1];
    if (events.length < 2 || !last) return 0;
    const labels = { topic: this.topic, group: options.group };
    const end = host.metrics.handlerSeconds.startTimer(labels);
    try {
      await batchHandler(events, { topic: this.topic, partition: this.partition });
    } catch (error) {
      host.metrics.handlerFailures.inc(labels);
      host.logger.warn(
        { err: error, ...this.where, offset: this.queue[0]?.position, events: events.length },
        'batch handler failed; its events are handled one at a time',
      );
      this.oneByOne = events.length - 1; // the head goes to `handle` now
      return 0;
    } finally {
      end();
    }
    if (this.signal.aborted) return 'stopped';
    this.commitAhead(last.position + 1);
    host.metrics.consumed.inc(labels, events.length);
    return events.length;
  }

  /** Returns false when the worker must stop without going further (closing, or lease lost). */
  private async handle(row: FetchedRow): Promise<boolean> {
    const { host, options } = this.sub;
    const { signal } = this;
    const { group } = options;
    let event: ReturnType<typeof eventFromJson>;
    try {
      event = eventFromJson(row.event);
      validateConsumed(host.registry, this.topic, event);
    } catch (error) {
      const reason = describeError(error);
      host.metrics.invalidRecords.inc({ topic: this.topic, group });
      if (isDeadLetterTopic(this.topic)) {
        host.logger.error(
          { err: error, ...this.where, offset: row.position },
          'invalid record on a dead-letter topic skipped',
        );
        this.commitAhead(row.position + 1);
        return true;
      }
      host.logger.error({ err: error, ...this.where, offset: row.position }, 'invalid record dead-lettered');
      const json =
        row.event && typeof row.event === 'object' && !Array.isArray(row.event)
          ? { ...row.event, [deadLetterAttributes.reason]: reason, [deadLetterAttributes.group]: group }
          : {
              invalid: row.event,
              [deadLetterAttributes.reason]: reason,
              [deadLetterAttributes.group]: group,
            };
      return this.commitDeadLetter(row.position + 1, { key: row.key, json });
    }
    const outcome = await deliver(
      event,
      { topic: this.topic, partition: this.partition, offset: String(row.position) },
      {
        group,
        handler: options.handler,
        firstAttempt: 1,
        lastAttempt: options.maxAttempts,
        retryDelayMs: options.retryDelayMs,
        signal,
        metrics: host.metrics,
        logger: host.logger,
      },
    );
    if (outcome.kind === 'stopped') return false;
    if (outcome.kind === 'failed') {
      const reason = describeError(outcome.error);
      host.logger.error(
        {
          err: outcome.error,
          ...this.where,
          offset: row.position,
          eventId: event.id,
          attempts: options.maxAttempts,
        },
        'event dead-lettered after its last attempt',
      );
      const dead = deadLetterEvent(event, reason, group);
      return this.commitDeadLetter(row.position + 1, { key: row.key, json: eventToJson(dead) });
    }
    this.commitAhead(row.position + 1);
    return true;
  }

  /** A dead letter is appended in the commit's transaction, after the commits before it. */
  private async commitDeadLetter(next: number, record: StoredRecord): Promise<boolean> {
    await this.committing;
    this.checkCommits();
    const ok = await this.sub.commit(this, next, record);
    if (!ok) this.sub.host.logger.warn({ ...this.where, offset: next - 1 }, 'commit refused: lease lost');
    return ok;
  }
}
