import { ConflictError, isRetriable, NotFoundError, UnavailableError, ValidationError } from '@bitv/shared';
import type { EventStore } from '@bitv/shared/event-store';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import { retry } from '@bitv/shared/retry';
import type { Attempt, Attempts } from './attempts.js';
import type { FraudCheck } from './fraud.js';
import {
  decide,
  type PaymentCommand,
  type PaymentRef,
  PaymentRuleError,
  type PaymentState,
} from './model.js';
import type { Operation, PaymentProvider, ProviderOutcome } from './provider.js';
import { execute, loadPayment } from './stream.js';

/** Runs one provider call under its dependency's timeout (and breaker, bulkhead), with its signal. */
export interface ProviderGuard {
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface ProviderRouter {
  providerFor(context: { paymentId: string; merchantId: string; customerId: string }): Promise<string>;
}

export interface PaymentRetry {
  /** Calls after the first per operation before the caller is told (it resumes later). */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const paymentRetryDefaults: PaymentRetry = { retries: 4, initialDelayMs: 200, maxDelayMs: 5_000 };

export interface PaymentServiceOptions {
  store: EventStore;
  attempts: Attempts;
  providers: ReadonlyMap<string, { provider: PaymentProvider; guard: ProviderGuard }>;
  router: ProviderRouter;
  fraud: FraudCheck;
  metrics: Registry;
  logger?: Logger;
  retry?: Partial<PaymentRetry>;
}

export interface AuthorizeInput {
  paymentId: string;
  orderId: string;
  merchantId: string;
  customerId: string;
  amountMinor: number;
  currency: string;
}

/**
 * Moves money through the providers, exactly once in effect: before every call the attempt (with
 * the idempotency key the provider deduplicates by) is stored; after a timeout, an unavailable
 * provider or a crash, the provider's `status(key)` is asked before any new call, so an operation
 * the provider committed is recorded, never repeated. The outcome is recorded on the payment (its
 * events, outbox entries and read row) in the transaction that closes the attempt.
 */
export class PaymentService {
  private readonly retry: PaymentRetry;
  private readonly logger: Logger;
  private readonly calls;
  private readonly statusChecks;
  private readonly declines;

  constructor(private readonly options: PaymentServiceOptions) {
    this.retry = { ...paymentRetryDefaults, ...options.retry };
    this.logger = (options.logger ?? silentLogger).child({ subsystem: 'payments' });
    this.calls = counter(options.metrics, 'bv_payments_provider_calls_total', 'Provider calls, by outcome', [
      'provider',
      'operation',
      'outcome',
    ]);
    this.statusChecks = counter(
      options.metrics,
      'bv_payments_status_checks_total',
      'Status look-ups before a retry, by whether the provider knew the operation',
      ['provider', 'known'],
    );
    this.declines = counter(
      options.metrics,
      'bv_payments_declined_total',
      'Authorizations declined, by code',
      ['provider', 'code'],
    );
  }

  get attempts(): Attempts {
    return this.options.attempts;
  }

  async current(paymentId: string): Promise<PaymentState> {
    return (await loadPayment(this.options.store, paymentId)).state;
  }

  /**
   * Authorizes once: a payment that exists is answered as it is; otherwise the toggle picks the
   * provider, the fraud check runs, and the attempt is stored before the provider is asked.
   */
  async authorize(input: AuthorizeInput): Promise<PaymentState> {
    if (!Number.isInteger(input.amountMinor) || input.amountMinor <= 0) {
      throw new ValidationError(`payment ${input.paymentId}: the amount must be a positive whole number`);
    }
    const existing = await this.current(input.paymentId);
    if (existing.status !== 'none') return existing;
    const key = `${input.paymentId}:authorize`;
    let attempt = await this.options.attempts.get(key);
    if (!attempt) {
      const provider = await this.options.router.providerFor(input);
      const ref: PaymentRef = {
        paymentId: input.paymentId,
        orderId: input.orderId,
        merchantId: input.merchantId,
        customerId: input.customerId,
        provider,
        currency: input.currency,
      };
      const verdict = await this.options.fraud.check(input);
      if (!verdict.allow) {
        this.declines.inc({ provider, code: 'fraud-suspected' });
        const at = new Date().toISOString();
        const reason = `${verdict.rule}: ${verdict.reason}`;
        return (
          await this.options.store.transaction((tx) =>
            execute(tx, input.paymentId, {
              kind: 'fail',
              ref,
              amountMinor: input.amountMinor,
              code: 'fraud-suspected',
              reason,
              at,
            }),
          )
        ).state;
      }
      attempt = await this.options.attempts.create({
        key,
        paymentId: input.paymentId,
        operation: 'authorize',
        provider,
        amountMinor: input.amountMinor,
        currency: input.currency,
        request: { ref },
      });
    }
    return this.complete(attempt);
  }

  /** Captures `amountMinor` (default: all that is left) under `key` (one key, one capture). */
  capture(paymentId: string, options: { key?: string; amountMinor?: number } = {}): Promise<PaymentState> {
    return this.followUp('capture', paymentId, options.key ?? `${paymentId}:capture`, options.amountMinor);
  }

  /** Releases an uncaptured authorization; a payment with nothing to void is answered as it is. */
  async void(paymentId: string, options: { key?: string } = {}): Promise<PaymentState> {
    return this.followUp('void', paymentId, options.key ?? `${paymentId}:void`, undefined);
  }

  /** Refunds `amountMinor` (default: all captured and not refunded) under `key`. */
  refund(paymentId: string, options: { key?: string; amountMinor?: number } = {}): Promise<PaymentState> {
    return this.followUp('refund', paymentId, options.key ?? `${paymentId}:refund`, options.amountMinor);
  }

  /** Finishes the payment's pending attempts (a notification said something happened); returns how many. */
  async settlePending(paymentId: string): Promise<number> {
    const pending = (await this.options.attempts.forPayment(paymentId)).filter((a) => a.state === 'pending');
    for (const attempt of pending) await this.complete(attempt);
    return pending.length;
  }

  /** Finishes attempts left pending (their process died, or gave up retrying); returns how many. */
  async resolveStale(idleMs: number, limit = 100): Promise<number> {
    const stale = await this.options.attempts.stale(idleMs, limit);
    let done = 0;
    for (const attempt of stale) {
      try {
        await this.complete(attempt);
        done += 1;
      } catch (error) {
        this.logger.warn({ err: error, key: attempt.key }, 'pending payment attempt not resolved yet');
      }
    }
    return done;
  }

  private async followUp(
    operation: Exclude<Operation, 'authorize'>,
    paymentId: string,
    key: string,
    amount: number | undefined,
  ): Promise<PaymentState> {
    let attempt = await this.options.attempts.get(key);
    if (!attempt) {
      // An authorization left pending by a crash is settled first: a void must know what to void.
      const pendingAuth = await this.options.attempts.get(`${paymentId}:authorize`);
      if (pendingAuth?.state === 'pending') await this.complete(pendingAuth);
      const state = await this.current(paymentId);
      if (state.status === 'none') {
        if (operation === 'void') return state;
        throw new NotFoundError(`payment ${paymentId} not found`);
      }
      if (operation === 'void' && state.status !== 'authorized') return state;
      const amountMinor =
        amount ??
        (operation === 'capture'
          ? state.authorizedMinor - state.capturedMinor
          : operation === 'refund'
            ? state.capturedMinor - state.refundedMinor
            : state.authorizedMinor);
      // The decider's rules before the provider is asked: a refund of more than was captured is ours to refuse.
      try {
        decide(command(operation, amountMinor, new Date().toISOString()), state);
      } catch (error) {
        if (error instanceof PaymentRuleError)
          throw new ConflictError(error.message, { details: { rule: error.rule } });
        throw error;
      }
      const {
        status: _s,
        providerRef,
        authorizedMinor: _a,
        capturedMinor: _c,
        refundedMinor: _r,
        failure: _f,
        ...ref
      } = state;
      attempt = await this.options.attempts.create({
        key,
        paymentId,
        operation,
        provider: state.provider,
        amountMinor,
        currency: state.currency,
        request: { ref, ...(providerRef ? { providerRef } : {}) },
      });
    }
    return this.complete(attempt);
  }

  /** Gets the attempt's outcome (asking the provider at most as often as needed) and records it. */
  private async complete(attempt: Attempt): Promise<PaymentState> {
    if (attempt.state !== 'pending') return this.current(attempt.paymentId);
    const outcome = await this.call(attempt);
    const at = outcome.outcome === 'approved' ? outcome.at : new Date().toISOString();
    const ref = attempt.request.ref;
    const recorded = await this.options.store.transaction(async (tx) => {
      const closed = await this.options.attempts.close(tx, attempt.key, outcome.outcome, outcome);
      if (!closed) return undefined;
      if (attempt.operation === 'authorize') {
        if (outcome.outcome === 'approved') {
          return execute(tx, attempt.paymentId, {
            kind: 'authorize',
            ref,
            providerRef: outcome.providerRef,
            amountMinor: attempt.amountMinor,
            at,
          });
        }
        this.declines.inc({ provider: attempt.provider, code: outcome.code });
        return execute(tx, attempt.paymentId, {
          kind: 'fail',
          ref,
          amountMinor: attempt.amountMinor,
          code: outcome.code,
          reason: outcome.reason,
          at,
        });
      }
      // A void the provider says was done already is done: the authorization is released either way.
      const done =
        outcome.outcome === 'approved' || (attempt.operation === 'void' && outcome.code === 'already-voided');
      if (!done) return undefined;
      return execute(tx, attempt.paymentId, command(attempt.operation, attempt.amountMinor, at));
    });
    if (outcome.outcome === 'declined' && attempt.operation !== 'authorize' && recorded === undefined) {
      throw new ConflictError(
        `${attempt.provider} declined the ${attempt.operation}: ${outcome.code} (${outcome.reason})`,
        {
          details: { code: outcome.code },
        },
      );
    }
    return recorded?.state ?? this.current(attempt.paymentId);
  }

  /**
   * The provider's answer for the attempt. Every call but a first one on a fresh attempt starts
   * with `status(key)`: the earlier call may have committed before its answer was lost.
   */
  private async call(attempt: Attempt): Promise<ProviderOutcome> {
    const entry = this.options.providers.get(attempt.provider);
    if (!entry) throw new UnavailableError(`payment provider ${attempt.provider} is not configured`);
    const { provider, guard } = entry;
    let calls = attempt.calls;
    return retry(
      async () => {
        if (calls > 0) {
          const status = await guard.execute((signal) => provider.status(attempt.key, signal));
          this.statusChecks.inc({ provider: provider.name, known: String(status.known) });
          if (status.known) {
            const { known: _k, ...outcome } = status;
            return outcome;
          }
        }
        await this.options.attempts.countCall(attempt.key);
        calls += 1;
        try {
          const outcome = await guard.execute((signal) => send(provider, attempt, signal));
          this.calls.inc({ provider: provider.name, operation: attempt.operation, outcome: outcome.outcome });
          return outcome;
        } catch (error) {
          this.calls.inc({
            provider: provider.name,
            operation: attempt.operation,
            outcome: isRetriable(error) ? 'unknown' : 'error',
          });
          throw error;
        }
      },
      {
        retries: this.retry.retries,
        initialDelayMs: this.retry.initialDelayMs,
        maxDelayMs: this.retry.maxDelayMs,
        onRetry: ({ error, attempt: n }) =>
          this.logger.info(
            { err: error, key: attempt.key, attempt: n },
            'provider call failed; status first, then retry',
          ),
      },
    );
  }
}

function command(
  operation: Exclude<Operation, 'authorize'>,
  amountMinor: number,
  at: string,
): PaymentCommand {
  if (operation === 'void') return { kind: 'void', at };
  return { kind: operation, amountMinor, at };
}

function send(provider: PaymentProvider, a: Attempt, signal: AbortSignal): Promise<ProviderOutcome> {
  const money = { amountMinor: a.amountMinor, currency: a.currency };
  const ref = a.request.ref;
  if (a.operation === 'authorize') {
    return provider.authorize(
      {
        idempotencyKey: a.key,
        paymentId: a.paymentId,
        merchantId: ref.merchantId,
        customerId: ref.customerId,
        money,
        reference: ref.orderId,
      },
      signal,
    );
  }
  const followUp = {
    idempotencyKey: a.key,
    paymentId: a.paymentId,
    providerRef: a.request.providerRef as string,
    ...(a.operation === 'void' ? {} : { money }),
  };
  return provider[a.operation](followUp, signal);
}
