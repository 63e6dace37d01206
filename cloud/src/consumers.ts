import type { Subscription } from '@bitv/shared/event-log';
import {
  type BvEvent,
  commandResultV1,
  deviceStateV1,
  type EventDefinition,
  telemetryGapV1,
  telemetryMetricsV1,
  telemetryReadingsV1,
  topics,
} from '@bitv/shared/events';
import type { Services } from './api/services.js';
import { DeviceStateTracker } from './registry/device-state.js';

/** The data of an event of this type; other types sharing the topic are not this consumer's. */
function dataOf<T>(definition: EventDefinition<T>, event: BvEvent): T | undefined {
  // The event log checks every consumed event against its registry (the platform's event types)
  // and dead-letters the ones that do not fit, so the data is the schema's type here.
  return event.type === definition.type ? (event.data as T) : undefined;
}

/**
 * The cloud's event-log consumers, one group per topic. A failure is thrown so the log redelivers
 * the event (and dead-letters it after its attempts); handlers are idempotent.
 */
export async function startConsumers(
  s: Services,
  options: { groupPrefix: string; fromBeginning: boolean } = { groupPrefix: 'cloud', fromBeginning: true },
): Promise<Subscription[]> {
  const tracker = new DeviceStateTracker(s.db, s.hub, s.logger, (shelfIds, online) =>
    s.counting.health.shelfPresence(shelfIds, online),
  );
  const subscribe = (group: string, topic: string, handle: (event: BvEvent) => Promise<void>) =>
    s.eventLog.subscribe({
      group: `${options.groupPrefix}.${group}`,
      topics: [topic],
      handler: (event) => handle(event),
      fromBeginning: options.fromBeginning,
    });
  return Promise.all([
    subscribe('inventory', topics.telemetry, async (event) => {
      const batch = dataOf(telemetryReadingsV1, event);
      if (batch) await s.counting.apply(batch);
      const gap = dataOf(telemetryGapV1, event);
      if (gap) await s.gaps.record(gap, event.time ? new Date(event.time) : new Date());
      const metrics = dataOf(telemetryMetricsV1, event);
      if (metrics) await s.deviceMetrics.record(metrics);
    }),
    subscribe('device-state', topics.deviceState, async (event) => {
      const state = dataOf(deviceStateV1, event);
      if (state) await tracker.apply(state, event.time ? new Date(event.time) : new Date());
    }),
    subscribe('commands', topics.commandResults, async (event) => {
      const result = dataOf(commandResultV1, event);
      if (result) await s.commands.applyResult(result);
    }),
  ]);
}
