import {
  alarmChangedV1,
  deviceStateV1,
  orderEvents,
  paymentEvents,
  stockAlertV1,
  topics,
} from '@bitv/shared/events';

/** The events partners can subscribe to, by the topic they come from. */
export const webhookEventTypes: readonly { type: string; description: string }[] = [
  ...orderEvents,
  ...paymentEvents,
  stockAlertV1,
  deviceStateV1,
  // One type for an alarm's raise, acknowledgement and clearing: `data.transition` says which.
  alarmChangedV1,
].map((d) => ({ type: d.type, description: d.description }));

export const webhookTopics = [
  topics.orders,
  topics.payments,
  topics.inventory,
  topics.deviceState,
  topics.alarms,
] as const;

const known = new Set(webhookEventTypes.map((t) => t.type));

/** `*`, an exact type, or a prefix pattern `bv.order.*`. */
export function isValidFilter(filter: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) {
    const prefix = filter.slice(0, -1);
    return [...known].some((t) => t.startsWith(prefix));
  }
  return known.has(filter);
}

export function isDeliverable(type: string): boolean {
  return known.has(type);
}

export function matches(filters: readonly string[], type: string): boolean {
  return filters.some(
    (f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))),
  );
}
