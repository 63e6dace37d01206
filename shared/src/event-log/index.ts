export { createEventLog, type EventLogOptions } from './create.js';
export { DatabaseEventLog } from './database/log.js';
export { partitionForKey } from './database/partition.js';
export { type DatabaseLogTuning, databaseLogDefaults } from './database/tuning.js';
export { deadLetterAttributes } from './delivery.js';
export { KafkaEventLog } from './kafka/log.js';
export { type KafkaLogOptions, kafkaLogDefaults } from './kafka/options.js';
export * from './port.js';
