export { type CallOutcome, type ResilienceMetrics, resilienceMetrics } from './metrics.js';
export {
  type BreakerOptions,
  type BulkheadOptions,
  type DependencyPolicy,
  type DependencyPolicyOptions,
  type DependencyState,
  dependencyPolicy,
  type RetryPolicyOptions,
} from './policy.js';
