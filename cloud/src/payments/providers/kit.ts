import { UnavailableError, type ValidationError } from '@bitv/shared';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { counter, createRegistry, type Registry } from '@bitv/shared/metrics';
import {
  type DependencyPolicy,
  type DependencyPolicyOptions,
  dependencyPolicy,
} from '@bitv/shared/resilience';
import type { z } from 'zod';
import type { SignatureCheck } from './signature.js';

/** What configures any provider adapter: where it is, its notification secret, its limits. */
export interface ProviderOptions {
  /** The provider's endpoint: the bank's SOAP URL (`BV_BANK_URL`) or rest-pay's base URL (`BV_REST_PAY_URL`). */
  url: string;
  /** The HMAC secret notifications are signed with (`BV_BANK_SECRET`, `BV_REST_PAY_SECRET`). */
  secret: string;
  /** Timeout of one call (default 5000 ms). */
  timeoutMs?: number;
  /** Notification timestamps further than this from now are refused (default 300 s). */
  toleranceSeconds?: number;
  /** Breaker and bulkhead of the provider's dependency policy (defaults: @bitv/shared/resilience's). */
  resilience?: Pick<DependencyPolicyOptions, 'breaker' | 'bulkhead'>;
  registry?: Registry;
  log?: Logger;
  now?: () => Date;
}

/**
 * What every adapter does the same way around its own wire format: calls under the provider's
 * dependency policy and counted, answers checked against a schema, malformed answers and refused
 * notifications counted and logged. The adapters keep only their translation.
 */
export class ProviderKit {
  readonly log: Logger;
  readonly check: SignatureCheck;
  private readonly policy: DependencyPolicy;
  private readonly count: ReturnType<typeof providerMetrics>;

  constructor(
    private readonly provider: string,
    options: ProviderOptions,
  ) {
    const registry = options.registry ?? createRegistry();
    this.log = (options.log ?? silentLogger).child({ provider });
    this.count = providerMetrics(registry, provider);
    this.policy = dependencyPolicy(
      { name: provider, timeoutMs: options.timeoutMs ?? 5000, ...options.resilience, logger: this.log },
      registry,
    );
    this.check = {
      secret: options.secret,
      toleranceSeconds: options.toleranceSeconds ?? 300,
      now: options.now ?? (() => new Date()),
    };
  }

  /** One call under the policy (timeout, breaker, bulkhead), counted by operation and result. */
  async call<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    try {
      const answer = await this.policy.execute(fn, signal);
      this.count.call(operation, 'ok');
      return answer;
    } catch (error) {
      this.count.call(operation, (error as { code?: string }).code ?? 'error');
      throw error;
    }
  }

  /** The answer checked against the provider's wire schema; anything else is a malformed answer. */
  parse<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw this.malformed(what, issuesText(parsed.error));
    return parsed.data as z.output<S>;
  }

  /** The provider may have committed before answering garbage: retriable, after a status check. */
  malformed(what: string, why: string): UnavailableError {
    this.count.malformed();
    this.log.warn({ operation: what, why }, `malformed answer from ${this.provider}`);
    return new UnavailableError(`${this.provider}: malformed ${what} answer (${why})`, {
      details: { malformed: true },
    });
  }

  /** Parses a notification, counting a refusal (forged, stale, malformed, too large) by its reason. */
  notification<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      const reason = (error as ValidationError).details?.reason;
      this.count.refused(typeof reason === 'string' ? reason : 'malformed');
      throw error;
    }
  }
}

export function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

/** What every provider adapter counts, labelled by provider name. */
function providerMetrics(registry: Registry, provider: string) {
  const calls = counter(
    registry,
    'bv_payment_provider_calls_total',
    'provider calls by operation and result',
    ['provider', 'operation', 'result'],
  );
  const malformed = counter(
    registry,
    'bv_payment_provider_malformed_answers_total',
    'provider answers that did not parse as the provider’s wire format (never a crash)',
    ['provider'],
  );
  const refused = counter(
    registry,
    'bv_payment_provider_notifications_refused_total',
    'notifications refused: forged, stale (replay), malformed, too large',
    ['provider', 'reason'],
  );
  return {
    call: (operation: string, result: string) => calls.inc({ provider, operation, result }),
    malformed: () => malformed.inc({ provider }),
    refused: (reason: string) => refused.inc({ provider, reason }),
  };
}
