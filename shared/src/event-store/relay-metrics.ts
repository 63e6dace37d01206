import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { counter, gauge, histogram } from '../metrics/index.js';

export interface OutboxMetrics {
  pending: Gauge;
  oldest: Gauge;
  published: Counter<'topic'>;
  failures: Counter<'topic'>;
  dropped: Counter<'topic'>;
  delay: Histogram;
}

export function outboxMetrics(registry: Registry): OutboxMetrics {
  return {
    pending: gauge(registry, 'bv_outbox_pending', 'Outbox rows waiting to be published'),
    oldest: gauge(
      registry,
      'bv_outbox_oldest_pending_seconds',
      'Age of the oldest outbox row not yet published',
    ),
    published: counter(registry, 'bv_outbox_published_total', 'Outbox rows published to the event log', [
      'topic',
    ]),
    failures: counter(
      registry,
      'bv_outbox_publish_failures_total',
      'Outbox publishes that failed and will be retried',
      ['topic'],
    ),
    dropped: counter(
      registry,
      'bv_outbox_dropped_total',
      'Outbox rows the event log refused as invalid (set aside)',
      ['topic'],
    ),
    delay: histogram(
      registry,
      'bv_outbox_delivery_seconds',
      'From commit to published',
      [],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    ),
  };
}
