import type { EventLog } from '@bitv/shared/event-log';
import { createEvent, type EventDefinition } from '@bitv/shared/events';

export const eventSource = '/bitv/cloud';

/** Builds (validating the data) and publishes one event of a known type on its own topic. */
export async function publishEvent<T>(
  eventLog: EventLog,
  definition: EventDefinition<T>,
  key: string,
  data: T,
): Promise<void> {
  await eventLog.publish(definition.topic, createEvent(definition, { source: eventSource, key, data }));
}
