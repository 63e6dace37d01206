import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database } from '../db/index.js';
import type { EventRegistry } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { DatabaseEventLog } from './database/log.js';
import { type DatabaseLogTuning, databaseLogDefaults } from './database/tuning.js';
import { KafkaEventLog } from './kafka/log.js';
import { type KafkaLogOptions, kafkaLogDefaults } from './kafka/options.js';
import { eventLogMetrics } from './metrics.js';
import type { EventLog } from './port.js';

export interface EventLogOptions {
  /** Kafka brokers: when given (non-empty), the log is Kafka. */
  kafka?: { brokers: readonly string[]; clientId: string } & Partial<KafkaLogOptions>;
  /** The SQL database for the database-backed log, used when no Kafka brokers are given. */
  database?: Database;
  /** Tuning of the database-backed log. */
  databaseLog?: Partial<DatabaseLogTuning>;
  /** Every published event is validated against it; consumed events are checked again. */
  registry: EventRegistry;
  logger?: Logger;
  metrics: Registry;
}

/**
 * Picks the implementation the configuration asks for: Kafka when brokers are given (production,
 * `KAFKA_BROKERS`), else the durable log in the database (the embedded default). Callers never
 * branch on which one they got.
 */
export async function createEventLog(options: EventLogOptions): Promise<EventLog> {
  // A field of its own: the caller's logger already carries its `component`.
  const logger = (options.logger ?? silentLogger).child({ subsystem: 'event-log' });
  const metrics = eventLogMetrics(options.metrics);
  if (options.kafka && options.kafka.brokers.length > 0) {
    const { brokers, clientId, ...tuning } = options.kafka;
    return KafkaEventLog.open({
      brokers: [...brokers],
      clientId,
      options: { ...kafkaLogDefaults, ...defined(tuning) },
      registry: options.registry,
      metrics,
      logger,
    });
  }
  if (!options.database) {
    throw new Error('createEventLog needs either kafka.brokers or a database');
  }
  return DatabaseEventLog.open({
    database: options.database,
    registry: options.registry,
    metrics,
    logger,
    tuning: {
      ...databaseLogDefaults,
      // Only this process can write to a PGlite folder, and its own publishes wake consumers at
      // once: polling is a fallback there. On PostgreSQL other processes publish too.
      pollIntervalMs: options.database.kind === 'pglite' ? 1_000 : 100,
      ...defined(options.databaseLog ?? {}),
    },
  });
}

/** Drops keys whose value is `undefined`, so they do not override defaults when spread. */
function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
