import type { Database } from '../db/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { openDatabaseQueue } from './database.js';
import type { Queue } from './port.js';
import { openRabbitQueue } from './rabbitmq.js';

export interface OpenQueueOptions {
  /** `amqp://…` selects RabbitMQ; absent selects the database queue. */
  amqpUrl?: string;
  database: Database;
  logger: Logger;
  metrics: Registry;
  timeoutMs?: number;
}

/** Picks the implementation from configuration, never from a flag in the code that uses it. */
export function openQueue(options: OpenQueueOptions): Promise<Queue> {
  const { amqpUrl, database, logger, metrics } = options;
  const timeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
  if (amqpUrl) return openRabbitQueue({ url: amqpUrl, logger, metrics, ...timeout });
  return openDatabaseQueue({ database, logger, metrics });
}
