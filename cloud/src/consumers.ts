import { ValidationError } from '@bitv/shared';
import type { Subscription } from '@bitv/shared/event-log';
import {
  type BvEvent,
  commandResultV1,
  deviceStateV1,
  type EventDefinition,
  platformEvents,
  telemetryReadingsV1,
  topics,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import type { Services } from './api/services.js';
import { DeviceStateTracker } from './registry/device-state.js';

/**
 * The cloud's event-log consumers. Each group reads one topic; a record that is not a valid event
 * of the expected type is counted and skipped (retrying cannot fix it, and it must not stall the
 * partition); any other failure is thrown so the log redelivers it.
 */
export async function startConsumers(
  s: Services,
  rejected: Counter<'topic'>,
  options: { groupPrefix: string; fromBeginning: boolean } = { groupPrefix: 'cloud', fromBeginning: true },
): Promise<Subscription[]> {
  const known = platformEvents();
  const tracker = new DeviceStateTracker(s.db, s.hub, s.logger);
  const accept = <T>(
    definition: EventDefinition<T>,
    event: BvEvent,
    topic: string,
    logger: Logger,
  ): T | undefined => {
    if (event.type !== definition.type) return undefined;
    try {
      known.validate(event, topic);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.inc({ topic });
      logger.warn({ err: error, id: event.id, topic }, 'invalid event skipped');
      return undefined;
    }
    return event.data as T;
  };
  const subscribe = (group: string, topic: string, handle: (event: BvEvent) => Promise<void>) =>
    s.eventLog.subscribe({
      group: `${options.groupPrefix}.${group}`,
      topics: [topic],
      handler: (event) => handle(event),
      fromBeginning: options.fromBeginning,
    });
  return Promise.all([
    subscribe('inventory', topics.telemetry, async (event) => {
      const batch = accept(telemetryReadingsV1, event, topics.telemetry, s.logger);
      if (batch) await s.counting.apply(batch);
    }),
    subscribe('device-state', topics.deviceState, async (event) => {
      const state = accept(deviceStateV1, event, topics.deviceState, s.logger);
      if (state) await tracker.apply(state, event.time ? new Date(event.time) : new Date());
    }),
    subscribe('commands', topics.commandResults, async (event) => {
      const result = accept(commandResultV1, event, topics.commandResults, s.logger);
      if (result) await s.commands.applyResult(result);
    }),
  ]);
}
