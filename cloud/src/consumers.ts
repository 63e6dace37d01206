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
  return Promise.all(
    groupConsumers(specs).map((spec) =>
      eventLog.subscribe({
        group: `${options.groupPrefix}.${spec.group}`,
        topics: [...spec.topics],
        handler: (event, context) => spec.handle(event, context.topic),
        ...(spec.handleBatch ? { batchHandler: spec.handleBatch } : {}),
        fromBeginning: options.fromBeginning,
      }),
    ),
  );
}

/**
 * One subscription per group: a consumer that `joins` a mounted group rides in it (topics joined,
 * handlers in turn: the host's first), since each group of the database log reads and commits
 * every event of its topics (a second group on `bv.telemetry` cost the counting path ~3x in the
 * cloud bench). Two consumers naming the same group are a mistake and refused.
 */
export interface GroupedConsumer {
  group: string;
  topics: readonly string[];
  handle(event: BvEvent, topic: string): Promise<void>;
  handleBatch?(events: readonly BvEvent[]): Promise<void>;
}

export function groupConsumers(specs: readonly ConsumerSpec[]): GroupedConsumer[] {
  const hosts = new Map<string, ConsumerSpec>();
  for (const spec of specs) {
    if (hosts.has(spec.group)) throw new Error(`two consumers share the group ${spec.group}`);
    hosts.set(spec.group, spec);
  }
  const riders = new Map<string, ConsumerSpec[]>();
  for (const spec of specs) {
    if (spec.joins === undefined || !hosts.has(spec.joins) || spec.joins === spec.group) continue;
    if (hosts.get(spec.joins)?.joins !== undefined) {
      throw new Error(`consumer ${spec.group} joins ${spec.joins}, which itself joins another group`);
    }
    riders.set(spec.joins, [...(riders.get(spec.joins) ?? []), spec]);
  }
  const grouped: GroupedConsumer[] = [];
  for (const spec of specs) {
    if (spec.joins !== undefined && hosts.has(spec.joins) && spec.joins !== spec.group) continue;
    const along = riders.get(spec.group) ?? [];
    if (along.length === 0) {
      const batch = spec.handleBatch;
      grouped.push({
        group: spec.group,
        topics: spec.topics,
        handle: (event) => spec.handle(event),
        ...(batch ? { handleBatch: (events: readonly BvEvent[]) => batch.call(spec, events) } : {}),
      });
      continue;
    }
    const all = [spec, ...along];
    grouped.push({
      group: spec.group,
      topics: [...new Set(all.flatMap((s) => s.topics))],
      handle: async (event, topic) => {
        // Each handler is idempotent; a throw stops the rest and the log redelivers to all of them.
        for (const s of all) if (s.topics.includes(topic)) await s.handle(event);
      },
    });
  }
  return grouped;
}
