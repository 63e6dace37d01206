/**
 * The event store: `createEventStore(database, { upcasters, logger, metrics })` over the SQL port
 * (PGlite embedded, PostgreSQL in production); projections with their checkpoints in the same
 * transaction as their rows; the transactional outbox and its relay to the event log.
 *
 *   const store = await createEventStore(database, { metrics });
 *   await store.transaction(async (tx) => {
 *     await tx.append(`order-${id}`, 'no_stream', [{ type: 'order.placed', data }]);
 *     await tx.publish(topics.orders, createEvent(orderPlacedV1, { source, key: id, data }));
 *   });
 *
 * See docs/event-store.md.
 */

export { notifyChannel } from './notify.js';
export { outboxCommitted, outboxInsert, queueOutbox } from './outbox-write.js';
export * from './port.js';
export type { Projection } from './projection.js';
export {
  type ProjectionRunner,
  type ProjectionRunnerOptions,
  projectionRunnerDefaults,
  startProjections,
} from './projections.js';
export { type OutboxRelay, type OutboxRelayOptions, outboxRelayDefaults, startOutboxRelay } from './relay.js';
export { migrateEventStore } from './schema.js';
export { createEventStore, type EventStoreOptions } from './store.js';
export { type Upcaster, Upcasters } from './upcasters.js';
