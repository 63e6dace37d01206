import type { ConsumerStatus, EventLog, Subscription } from '@bitv/shared/event-log';
import type { BvEvent } from '@bitv/shared/events';

/**
 * For the benchmark only: an event log that acknowledges every publish at once and keeps
 * nothing. It isolates the broker path (parse, authenticate, ACL, decode, validate, CloudEvents)
 * from the wait for Kafka; never a way to run the gateway.
 */
export class DiscardingEventLog implements EventLog {
  readonly kind = 'database' as const;
  /** Publish calls and records taken, for the bisection's batch sizes. */
  calls = 0;
  records = 0;
  async publish(_topic: string, events: BvEvent | readonly BvEvent[]): Promise<void> {
    this.calls++;
    this.records += Array.isArray(events) ? events.length : 1;
  }
  async subscribe(): Promise<Subscription> {
    return { close: async () => {} };
  }
  async ping(): Promise<void> {}
  consumers(): ConsumerStatus[] {
    return []; // its subscriptions deliver nothing and never fail
  }
  async close(): Promise<void> {}
}
