import type { EventStore, EventStoreTransaction, NewEvent, StoredEvent } from '@bitv/shared/event-store';
import { type BvEvent, createEvent, type EventDefinition, orderEvents, topics } from '@bitv/shared/events';
import { eventSource } from '../events.js';
import { decide, fold, type OrderCommand, type OrderEvent, type OrderState } from './model.js';

/** The stream of one order in the event store. */
export function orderStream(orderId: string): string {
  return `order-${orderId}`;
}

const definitions = new Map<string, EventDefinition<unknown>>(orderEvents.map((d) => [d.type, d]));

export function asOrderEvent(stored: StoredEvent): OrderEvent {
  if (!definitions.has(stored.type)) throw new Error(`${stored.type} is not an order event`);
  return { type: stored.type, data: stored.data } as OrderEvent;
}

export interface LoadedOrder {
  state: OrderState;
  /** The stream's version (0: no such order), the expected version of the next append. */
  version: number;
  events: StoredEvent[];
}

export async function loadOrder(
  reader: Pick<EventStore | EventStoreTransaction, 'readStream'>,
  orderId: string,
): Promise<LoadedOrder> {
  const events = await reader.readStream(orderStream(orderId));
  return { state: fold(events.map(asOrderEvent)), version: events.at(-1)?.version ?? 0, events };
}

/**
 * Decides `command` on the order as loaded inside `tx` (or as the caller loaded it already, to read
 * it once), appends the events at the version it was loaded at (a writer since makes it a
 * ConcurrencyError, nothing written) and queues them on `bv.orders` through the transaction's
 * outbox, keyed by order so consumers see one order in order.
 */
export async function execute(
  tx: EventStoreTransaction,
  orderId: string,
  command: OrderCommand,
  options: { metadata?: Record<string, unknown>; loaded?: LoadedOrder } = {},
): Promise<{ state: OrderState; events: OrderEvent[]; version: number }> {
  const loaded = options.loaded ?? (await loadOrder(tx, orderId));
  const events = decide(command, loaded.state);
  const records = orderRecords(orderId, events, options.metadata ?? {});
  const result = await tx.append(
    orderStream(orderId),
    loaded.version === 0 ? 'no_stream' : loaded.version,
    records.stored,
  );
  await tx.publish(topics.orders, records.published);
  return { state: fold(events, loaded.state), events, version: result.version };
}

/**
 * An order's events as the store keeps them and as `bv.orders` carries them: the stored event's
 * id is the CloudEvent's id (a consumer that sees the outbox deliver twice can tell), keyed by
 * order so consumers see one order in order.
 */
export function orderRecords(
  orderId: string,
  events: readonly OrderEvent[],
  metadata: Record<string, unknown> = {},
): { stored: NewEvent[]; published: BvEvent[] } {
  const ids = events.map(() => crypto.randomUUID());
  return {
    stored: events.map((e, i) => ({ type: e.type, data: e.data, metadata, id: ids[i] as string })),
    published: events.map((e, i) =>
      createEvent(definitions.get(e.type) as EventDefinition<unknown>, {
        source: eventSource,
        key: orderId,
        id: ids[i] as string,
        data: e.data,
      }),
    ),
  };
}
