import type { EventLog, Subscription } from '@bitv/shared/event-log';
import type { BvEvent, EventDefinition } from '@bitv/shared/events';
import type { ConsumerSpec } from './module.js';

/** The data of an event of this type; other types sharing the topic are not this consumer's. */
export function dataOf<T>(definition: EventDefinition<T>, event: BvEvent): T | undefined {
  // The event log checks every consumed event against its registry (the platform's event types)
  // and dead-letters the ones that do not fit, so the data is the schema's type here.
  return event.type === definition.type ? (event.data as T) : undefined;
}

/** When the event happened (its CloudEvents `time`), or now for an event without one. */
export const timeOf = (event: BvEvent): Date => (event.time ? new Date(event.time) : new Date());

export interface ConsumerOptions {
  /** Groups are `<prefix>.<spec.group>`, so two clouds on one Kafka keep their own offsets. */
  groupPrefix: string;
  /** A new group starts at the oldest event, or only at new ones (tests on a shared Kafka). */
  fromBeginning: boolean;
}

export const consumerDefaults: ConsumerOptions = { groupPrefix: 'cloud', fromBeginning: true };

/**
 * Subscribes the mounted modules' consumers, one group each. A handler's failure is thrown so the
 * log redelivers the event (and dead-letters it after its attempts); handlers are idempotent.
 */
export async function startConsumers(
  eventLog: EventLog,
  specs: readonly ConsumerSpec[],
  options: ConsumerOptions = consumerDefaults,
): Promise<Subscription[]> {
  const groups = new Set<string>();
  for (const spec of specs) {
    if (groups.has(spec.group)) throw new Error(`two consumers share the group ${spec.group}`);
    groups.add(spec.group);
  }
  return Promise.all(
    specs.map((spec) =>
      eventLog.subscribe({
        group: `${options.groupPrefix}.${spec.group}`,
        topics: [...spec.topics],
        handler: (event) => spec.handle(event),
        fromBeginning: options.fromBeginning,
      }),
    ),
  );
}
