import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { counter, gauge, histogram } from '../metrics/index.js';

/**
 * The event log's metrics, the same names for both implementations so dashboards and alerts do
 * not care which one runs. Several logs and consumers in one process share the series.
 */
export interface EventLogMetrics {
  published: Counter<'topic'>;
  consumed: Counter<'topic' | 'group'>;
  handlerFailures: Counter<'topic' | 'group'>;
  deadLetters: Counter<'topic' | 'group'>;
  invalidRecords: Counter<'topic' | 'group'>;
  handlerSeconds: Histogram<'topic' | 'group'>;
  lag: Gauge<'topic' | 'group' | 'partition'>;
  consumerRestarts: Counter<'group'>;
  consumerUp: Gauge<'group'>;
}

export function eventLogMetrics(registry: Registry): EventLogMetrics {
  return {
    published: counter(registry, 'bv_event_log_published_total', 'Events appended to the log', ['topic']),
    consumed: counter(
      registry,
      'bv_event_log_consumed_total',
      'Events a consumer group handled and committed',
      ['topic', 'group'],
    ),
    handlerFailures: counter(
      registry,
      'bv_event_log_handler_failures_total',
      'Handler attempts that threw (each retry counts)',
      ['topic', 'group'],
    ),
    deadLetters: counter(
      registry,
      'bv_event_log_dead_letters_total',
      'Events moved to the dead-letter topic after their last attempt or because they were invalid',
      ['topic', 'group'],
    ),
    invalidRecords: counter(
      registry,
      'bv_event_log_invalid_records_total',
      'Records that were not valid CloudEvents or failed their schema when consumed',
      ['topic', 'group'],
    ),
    handlerSeconds: histogram(registry, 'bv_event_log_handler_seconds', 'Handler run time per attempt', [
      'topic',
      'group',
    ]),
    lag: gauge(
      registry,
      'bv_event_log_consumer_lag',
      'Events in a partition after the last one this consumer handled, seen at its last fetch',
      ['topic', 'group', 'partition'],
    ),
    consumerRestarts: counter(
      registry,
      'bv_event_log_consumer_restarts_total',
      'Times a consumer crashed (lost its group coordinator, its broker, ...) and was restarted',
      ['group'],
    ),
    consumerUp: gauge(
      registry,
      'bv_event_log_consumer_up',
      '1 while a consumer is in its group and fetching, 0 while it starts or restarts after a crash',
      ['group'],
    ),
  };
}
