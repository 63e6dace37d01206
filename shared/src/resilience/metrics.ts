import { counter, gauge, type Registry } from '../metrics/index.js';

/** What one call through a dependency policy ended as; the `outcome` label of the calls counter. */
export type CallOutcome =
  | 'success'
  | 'failure'
  | 'timeout'
  | 'rejected_open'
  | 'rejected_bulkhead'
  | 'aborted';

export interface ResilienceMetrics {
  breakerState(dependency: string, state: 'closed' | 'half-open' | 'open' | 'isolated'): void;
  call(dependency: string, outcome: CallOutcome): void;
  retry(dependency: string): void;
}

/** Gauge values of the breaker state: 0 closed, 1 half-open, 2 open (isolated counts as open). */
const stateValue = { closed: 0, 'half-open': 1, open: 2, isolated: 2 } as const;

/**
 * The series every dependency policy writes, shared by all policies on one registry (labelled by
 * dependency name), so `/metrics` shows every breaker of the process side by side.
 */
export function resilienceMetrics(registry: Registry): ResilienceMetrics {
  const state = gauge(
    registry,
    'bv_dependency_breaker_state',
    'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open (or isolated)',
    ['dependency'],
  );
  const calls = counter(
    registry,
    'bv_dependency_calls_total',
    'Calls through a dependency policy by outcome',
    ['dependency', 'outcome'],
  );
  const bulkheadRejections = counter(
    registry,
    'bv_dependency_bulkhead_rejections_total',
    'Calls refused because the dependency bulkhead (and its queue) was full',
    ['dependency'],
  );
  const timeouts = counter(
    registry,
    'bv_dependency_timeouts_total',
    'Calls cut off by the dependency timeout',
    ['dependency'],
  );
  const retries = counter(
    registry,
    'bv_dependency_retries_total',
    'Attempts retried after a retriable failure',
    ['dependency'],
  );
  return {
    breakerState(dependency, value) {
      state.set({ dependency }, stateValue[value]);
    },
    call(dependency, outcome) {
      calls.inc({ dependency, outcome });
      if (outcome === 'rejected_bulkhead') bulkheadRejections.inc({ dependency });
      if (outcome === 'timeout') timeouts.inc({ dependency });
    },
    retry(dependency) {
      retries.inc({ dependency });
    },
  };
}
