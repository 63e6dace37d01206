import type { ConsumerStatus, EventLog, Subscription } from '@bitv/shared/event-log';

/**
 * For the benchmark only: an event log that acknowledges every publish at once and keeps
 * nothing. It isolates the broker path (parse, authenticate, ACL, decode, validate, CloudEvents)
 * from the wait for Kafka; never a way to run the gateway.
 */
export class DiscardingEventLog implements EventLog {
  readonly kind = 'database' as const;
  async publish(): Promise<void> {}
  async subscribe(): Promise<Subscription> {
    return { close: async () => {} };
  }
  async ping(): Promise<void> {}
  consumers(): ConsumerStatus[] {
    return []; // its subscriptions deliver nothing and never fail
  }
  async close(): Promise<void> {}
}
