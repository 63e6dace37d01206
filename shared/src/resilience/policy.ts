import {
  type BulkheadPolicy,
  bulkhead,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type RetryPolicy,
  retry,
  SamplingBreaker,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { isRetriable, TimeoutError, UnavailableError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { type CallOutcome, resilienceMetrics } from './metrics.js';

/** A time-based sampling breaker: opens when more than `thresholdRate` of the calls in the window failed. */
export interface SamplingBreakerOptions {
  halfOpenAfterMs: number;
  /** Failure rate (0..1, exclusive) above which the breaker opens. */
  thresholdRate: number;
  /** Calls per second the window must have seen before it may open (a quiet path still trips). */
  minimumRps: number;
  samplingDurationMs: number;
}
export interface ConsecutiveBreakerOptions {
  consecutiveFailures: number;
  halfOpenAfterMs: number;
}
export type BreakerOptions = SamplingBreakerOptions | ConsecutiveBreakerOptions;
export interface BulkheadOptions {
  /** Calls running at once. */
  limit: number;
  /** Calls waiting for a slot; past it a call is refused at once (503), never queued unbounded. */
  queue: number;
}
export interface RetryPolicyOptions {
  /** Attempts in all, the first included (Resilience4j's meaning): 3 = one call and two retries. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface DependencyPolicyOptions {
  /** Dependency name: metric label and log field, e.g. 'soap-bank', 'rabbitmq', 'webhook:<endpointId>'. */
  name: string;
  /** Every call gets a timeout (cockatiel's aggressive strategy: the call's signal is aborted). */
  timeoutMs: number;
  /** Default {@link defaultBreaker}; `false` for none. */
  breaker?: BreakerOptions | false;
  /** Default {@link defaultBulkhead}; `false` for none. */
  bulkhead?: BulkheadOptions | false;
  /** Default `false`: only the caller knows whether its call is safe to repeat. */
  retry?: RetryPolicyOptions | false;
  /**
   * Which errors count against the breaker and are retried. Default: the error's `retriable` flag
   * (timeouts, unavailable peers, ECONNRESET and the like), so an answer the dependency meant (a
   * declined card, a 404) never opens the breaker.
   */
  isFailure?: (error: unknown) => boolean;
  /** State changes are logged here (with `dependency`); default none. */
  logger?: Logger;
}

export type DependencyState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface DependencyPolicy {
  readonly name: string;
  /** Runs fn under timeout/breaker/bulkhead/retry; fn gets an AbortSignal that fires on timeout or outer abort. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly state: DependencyState;
  onStateChange(listener: (state: DependencyState) => void): () => void;
  /** How often the breaker changed state since creation: chaos tests show each opened and closed again. */
  readonly transitions: Readonly<Record<DependencyState, number>>;
  /** Holds the breaker open by hand (an operator's kill switch) until the returned function is called. */
  isolate(): () => void;
}

/**
 * Defaults, stated against Resilience4j's (CircuitBreakerConfig / BulkheadConfig / RetryConfig /
 * TimeLimiterConfig defaults):
 * - breaker: Resilience4j counts the last 100 calls, opens at 50 % failures once 100 calls were
 *   seen, stays open 60 s and lets 10 calls through half-open. A 100-call minimum never trips on a
 *   quiet path (a bank called a few times a minute), so ours is time-based: 50 % of the calls of
 *   the last 30 s, once the window saw at least 0.2 calls/s (6 calls), open for 30 s, then one
 *   trial call (cockatiel's half-open lets exactly one through; it closes or reopens the breaker).
 * - bulkhead: Resilience4j's semaphore bulkhead allows 25 concurrent calls and waits 0 ms for a slot;
 *   ours: 25 running and 0 waiting (a full bulkhead answers 503 at once).
 * - retry: Resilience4j retries 3 attempts 500 ms apart on every exception; ours is off unless
 *   asked for, and when on: exponential backoff with decorrelated jitter, retriable errors only.
 * - timeout: Resilience4j's TimeLimiter allows 1 s and cancels the future; ours is required per
 *   dependency (no default) and aborts the call's signal when the time is up (not after a return).
 */
export const defaultBreaker: SamplingBreakerOptions = {
  thresholdRate: 0.5,
  samplingDurationMs: 30_000,
  minimumRps: 0.2,
  halfOpenAfterMs: 30_000,
};
export const defaultBulkhead: BulkheadOptions = { limit: 25, queue: 0 };

const fromCircuit: Record<CircuitState, DependencyState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * One policy per dependency: retry( breaker( timeout( bulkhead( call ) ) ) ), Resilience4j's
 * order. The timeout includes the wait for a bulkhead slot, so nothing waits unbounded; the
 * breaker sees timeouts as failures, so a hanging dependency opens it and callers get a fast
 * 503 + Retry-After (the degraded mode) instead of hanging. Our own refusals (open breaker, full
 * bulkhead) are `UnavailableError`s that neither count against the breaker nor get retried.
 */
export function dependencyPolicy(options: DependencyPolicyOptions, registry?: Registry): DependencyPolicy {
  return new Policy(options, registry);
}

class Policy implements DependencyPolicy {
  readonly name: string;
  readonly transitions: Record<DependencyState, number> = { closed: 0, open: 0, 'half-open': 0, isolated: 0 };
  private readonly breaker: CircuitBreakerPolicy | undefined;
  private readonly bulkhead: BulkheadPolicy | undefined;
  private readonly retry: RetryPolicy | undefined;
  private readonly timeoutMs: number;
  /**
   * One timeout policy for every call. It aborts a call's signal only when the time is up: cockatiel
   * also aborts it after every call that returned (`abortOnReturn`), and each of those aborts built
   * a `DOMException` with its stack, ~6 % of a webhook delivery's CPU (issue #15). A call is over
   * when it returns; nothing here is left running on its signal.
   */
  private readonly limit: TimeoutPolicy;
  private readonly halfOpenAfterMs: number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly metrics: ReturnType<typeof resilienceMetrics> | undefined;
  private readonly listeners = new Set<(state: DependencyState) => void>();
  /** Errors this policy made itself (open breaker, full bulkhead): not the dependency's fault. */
  private readonly refusals = new WeakSet<object>();
  private openedAt = 0;

  constructor(options: DependencyPolicyOptions, registry: Registry | undefined) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`${options.name}: timeoutMs must be > 0`);
    this.name = options.name;
    this.timeoutMs = options.timeoutMs;
    this.limit = timeout(options.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    this.isFailure = options.isFailure ?? isRetriable;
    this.metrics = registry ? resilienceMetrics(registry) : undefined;
    const logger = options.logger?.child({ dependency: options.name });

    const breakerOptions = options.breaker === undefined ? defaultBreaker : options.breaker;
    this.halfOpenAfterMs = breakerOptions ? breakerOptions.halfOpenAfterMs : 0;
    if (breakerOptions) {
      const counts = handleWhen((error) => {
        // A half-open trial that did not reach an answer (refused by our bulkhead, cut by the
        // caller) says nothing about the dependency; cockatiel would close on any error it does
        // not count, so those count here and the breaker stays open until a real answer.
        if (
          this.breaker?.state === CircuitState.HalfOpen &&
          (this.refusals.has(error) || error instanceof Cancelled)
        ) {
          return true;
        }
        return !this.refusals.has(error) && !(error instanceof Cancelled) && this.isFailure(error);
      });
      this.breaker = circuitBreaker(counts, {
        halfOpenAfter: breakerOptions.halfOpenAfterMs,
        breaker:
          'consecutiveFailures' in breakerOptions
            ? new ConsecutiveBreaker(breakerOptions.consecutiveFailures)
            : new SamplingBreaker({
                threshold: breakerOptions.thresholdRate,
                duration: breakerOptions.samplingDurationMs,
                minimumRps: breakerOptions.minimumRps,
              }),
      });
      this.breaker.onStateChange((circuit) => {
        const state = fromCircuit[circuit];
        if (state === 'open' || state === 'isolated') this.openedAt = Date.now();
        this.transitions[state]++;
        this.metrics?.breakerState(this.name, state);
        const log = state === 'closed' ? logger?.info.bind(logger) : logger?.warn.bind(logger);
        log?.({ state }, `circuit breaker ${state}`);
        for (const listener of this.listeners) listener(state);
      });
    }
    this.metrics?.breakerState(this.name, 'closed');

    const bulkheadOptions = options.bulkhead === undefined ? defaultBulkhead : options.bulkhead;
    if (bulkheadOptions) this.bulkhead = bulkhead(bulkheadOptions.limit, bulkheadOptions.queue);

    if (options.retry && options.retry.maxAttempts > 1) {
      const retriable = handleWhen((error) => !this.refusals.has(error) && this.isFailure(error));
      this.retry = retry(retriable, {
        maxAttempts: options.retry.maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: options.retry.initialDelayMs,
          maxDelay: options.retry.maxDelayMs,
        }),
      });
      this.retry.onRetry(() => this.metrics?.retry(this.name));
    }
  }

  get state(): DependencyState {
    return this.breaker ? fromCircuit[this.breaker.state] : 'closed';
  }

  onStateChange(listener: (state: DependencyState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isolate(): () => void {
    if (!this.breaker) throw new Error(`${this.name} has no circuit breaker to isolate`);
    const handle = this.breaker.isolate();
    return () => handle.dispose();
  }

  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.retry) return this.attempt(fn, signal);
    return this.retry.execute(({ signal: attemptSignal }) => this.attempt(fn, attemptSignal), signal);
  }

  /** One attempt: breaker( timeout( bulkhead( fn ) ) ), errors turned into the platform's own. */
  private async attempt<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    outer: AbortSignal | undefined,
  ): Promise<T> {
    const guarded = (breakerSignal: AbortSignal) => this.timed(fn, breakerSignal, outer);
    try {
      // A signal of the call's own when the caller gave none: cockatiel's default is one shared
      // never-aborted signal, and every call in flight hung an abort listener on it
      // (MaxListenersExceededWarning past ten concurrent calls).
      const signal = outer ?? new AbortController().signal;
      const value = this.breaker
        ? await this.breaker.execute(({ signal: breakerSignal }) => guarded(breakerSignal), signal)
        : await guarded(signal);
      this.metrics?.call(this.name, 'success');
      return value;
    } catch (error) {
      const mapped = error instanceof Cancelled ? error.reason : this.translate(error, outer);
      this.metrics?.call(this.name, outcomeOf(mapped, outer, this.refusals));
      throw mapped;
    }
  }

  private async timed<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    outer: AbortSignal | undefined,
  ): Promise<T> {
    try {
      return await this.limit.execute(
        (_context, timeoutSignal) =>
          this.bulkhead ? this.bulkhead.execute(({ signal: s }) => fn(s), timeoutSignal) : fn(timeoutSignal),
        signal,
      );
    } catch (error) {
      // translated here, inside the breaker, so the breaker's filter sees our own error types
      if (outer?.aborted) throw new Cancelled(outer.reason ?? error);
      throw this.translate(error, outer);
    }
  }

  private translate(error: unknown, outer: AbortSignal | undefined): unknown {
    if (error instanceof TimeoutError || error instanceof UnavailableError) return error;
    if (isTaskCancelledError(error)) {
      // cockatiel reports an outer abort with the same error as its own timer: tell them apart
      if (outer?.aborted) return outer.reason ?? error;
      return new TimeoutError(`${this.name} did not answer within ${this.timeoutMs} ms`, {
        cause: error,
        details: { dependency: this.name, timeoutMs: this.timeoutMs },
      });
    }
    if (isBrokenCircuitError(error)) {
      const left = this.halfOpenAfterMs - (Date.now() - this.openedAt);
      const refusal = new UnavailableError(`${this.name} is unavailable (circuit ${this.state})`, {
        cause: error,
        details: {
          dependency: this.name,
          reason: 'circuit_open',
          retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)),
        },
      });
      this.refusals.add(refusal);
      return refusal;
    }
    if (isBulkheadRejectedError(error)) {
      const refusal = new UnavailableError(`${this.name} is busy (bulkhead full)`, {
        cause: error,
        details: { dependency: this.name, reason: 'bulkhead_full', retryAfterSeconds: 1 },
      });
      this.refusals.add(refusal);
      return refusal;
    }
    return error;
  }
}

/** The caller's signal ended the call: carried through the breaker, then unwrapped to the caller's reason. */
class Cancelled {
  constructor(readonly reason: unknown) {}
}

/*
 * cockatiel 3.2.1's own guards are wrong: its `isTaskCancelledError` (and `isIsolatedCircuitError`)
 * test for `isBulkheadRejectedError`, so a full bulkhead looks like a timeout. These test the
 * marker each error class really sets.
 */
function marked(error: unknown, marker: string): boolean {
  return error instanceof Error && marker in error;
}
const isTaskCancelledError = (error: unknown) => marked(error, 'isTaskCancelledError');
const isBrokenCircuitError = (error: unknown) => marked(error, 'isBrokenCircuitError');
const isBulkheadRejectedError = (error: unknown) => marked(error, 'isBulkheadRejectedError');

function outcomeOf(error: unknown, outer: AbortSignal | undefined, refusals: WeakSet<object>): CallOutcome {
  if (outer?.aborted) return 'aborted';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof UnavailableError && refusals.has(error)) {
    return error.details?.reason === 'bulkhead_full' ? 'rejected_bulkhead' : 'rejected_open';
  }
  return 'failure';
}
