import { counter, type Registry } from '../metrics/index.js';

/** The queue's series, labelled by implementation so a dashboard shows which one runs. */
export function queueMetrics(registry: Registry, kind: 'rabbitmq' | 'database') {
  const published = counter(registry, 'bv_queue_published_total', 'Messages durably published', [
    'kind',
    'queue',
  ]);
  const settled = counter(registry, 'bv_queue_settled_total', 'Deliveries settled, by outcome', [
    'kind',
    'queue',
    'outcome',
  ]);
  const handlerErrors = counter(registry, 'bv_queue_handler_errors_total', 'Handlers that threw', [
    'kind',
    'queue',
  ]);
  const errors = counter(registry, 'bv_queue_errors_total', 'Queue operations that failed', [
    'kind',
    'queue',
    'operation',
  ]);
  const reconnects = counter(registry, 'bv_queue_reconnects_total', 'Broker reconnections', ['kind']);
  return {
    published: { inc: (l: { queue: string }) => published.inc({ kind, ...l }) },
    settled: { inc: (l: { queue: string; outcome: string }) => settled.inc({ kind, ...l }) },
    handlerErrors: { inc: (l: { queue: string }) => handlerErrors.inc({ kind, ...l }) },
    errors: { inc: (l: { queue: string; operation: string }) => errors.inc({ kind, ...l }) },
    reconnects: { inc: () => reconnects.inc({ kind }) },
  };
}
