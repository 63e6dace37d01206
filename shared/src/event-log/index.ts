/**
 * The event log: `createEventLog({ kafka?, database?, registry, logger?, metrics })` returns the
 * Kafka implementation when brokers are given, else the durable log in the SQL database (PGlite
 * embedded, or PostgreSQL). Both pass `contract.ts` (run by the `event-log.*.test.ts` files).
 *
 *   const log = await createEventLog({ database, registry: platformEvents(), logger, metrics });
 *   await log.subscribe({ group: 'inventory', topics: [topics.telemetry], handler });
 *   await log.publish(topics.telemetry, createEvent(telemetryReadingsV1, { source, key, data }));
 *
 * Metrics (same names on both): bv_event_log_published_total{topic},
 * bv_event_log_consumed_total{topic,group}, bv_event_log_handler_failures_total{topic,group},
 * bv_event_log_dead_letters_total{topic,group}, bv_event_log_invalid_records_total{topic,group},
 * bv_event_log_handler_seconds{topic,group}, bv_event_log_consumer_lag{topic,group,partition},
 * bv_event_log_consumer_restarts_total{group}, bv_event_log_consumer_up{group}.
 */

export { createEventLog, type EventLogOptions } from './create.js';
export { DatabaseEventLog } from './database/log.js';
export { partitionForKey } from './database/partition.js';
export { type DatabaseLogTuning, databaseLogDefaults } from './database/tuning.js';
export { deadLetterAttributes } from './delivery.js';
export { KafkaEventLog } from './kafka/log.js';
export { type KafkaLogOptions, kafkaLogDefaults } from './kafka/options.js';
export * from './port.js';
