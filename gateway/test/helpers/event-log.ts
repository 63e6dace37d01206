import { UnavailableError } from '@bitv/shared/errors';
import type {
  ConsumerStatus,
  DeliveryContext,
  EventLog,
  SubscribeOptions,
  Subscription,
} from '@bitv/shared/event-log';
import type { BvEvent } from '@bitv/shared/events';

/**
 * A controllable in-process EventLog for bridge tests: it can hold publishes (to show that no
 * PUBACK goes out before the log acknowledges), fail them (log down), and deliver to
 * subscribers. The real Kafka log runs in kafka.test.ts.
 */
export class ControlledEventLog implements EventLog {
  readonly kind = 'database' as const;
  readonly records: { topic: string; event: BvEvent }[] = [];
  /** While true, publish and ping reject as an unreachable log does. */
  down = false;
  publishCalls = 0;
  /** While true, `consumers()` reports every subscription crashed and restarting. */
  consumersCrashed = false;
  #held: (() => void)[] = [];
  #hold = false;
  #holdTopic: string | undefined;
  readonly #subscribers: SubscribeOptions[] = [];

  /** Publishes (to `topic` only, when given) wait until `release()`. */
  hold(topic?: string): void {
    this.#hold = true;
    this.#holdTopic = topic;
  }

  release(): void {
    this.#hold = false;
    this.#holdTopic = undefined;
    for (const r of this.#held.splice(0)) r();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  async publish(topic: string, events: BvEvent | readonly BvEvent[]): Promise<void> {
    this.publishCalls++;
    if (this.#hold && (this.#holdTopic === undefined || this.#holdTopic === topic)) {
      await new Promise<void>((r) => this.#held.push(r));
    }
    if (this.down) throw new UnavailableError('log down');
    const list: readonly BvEvent[] = Array.isArray(events) ? events : [events as BvEvent];
    for (const event of list) {
      this.records.push({ topic, event });
      for (const s of this.#subscribers) {
        if (!s.topics.includes(topic)) continue;
        const ctx: DeliveryContext = {
          topic,
          partition: 0,
          offset: String(this.records.length - 1),
          attempt: 1,
        };
        await s.handler(event, ctx);
      }
    }
  }

  consumers(): ConsumerStatus[] {
    return this.#subscribers.map((s) => ({
      group: s.group,
      topics: s.topics,
      state: this.consumersCrashed ? 'restarting' : 'running',
      restarts: 0,
      ...(this.consumersCrashed ? { error: 'KafkaJSGroupCoordinatorNotFound: simulated' } : {}),
    }));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.#subscribers.push(options);
    return {
      close: async () => {
        const i = this.#subscribers.indexOf(options);
        if (i >= 0) this.#subscribers.splice(i, 1);
      },
    };
  }

  async ping(): Promise<void> {
    if (this.down) throw new UnavailableError('log down');
  }

  async close(): Promise<void> {
    this.release();
  }

  of(topic: string): BvEvent[] {
    return this.records.filter((r) => r.topic === topic).map((r) => r.event);
  }
}
