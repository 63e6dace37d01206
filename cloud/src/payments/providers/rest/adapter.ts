import { TimeoutError, UnavailableError, ValidationError } from '@bitv/shared';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import {
  type DependencyPolicy,
  type DependencyPolicyOptions,
  dependencyPolicy,
} from '@bitv/shared/resilience';
import type { z } from 'zod';
import type {
  AuthorizeRequest,
  FollowUpRequest,
  OperationStatus,
  PaymentProvider,
  ProviderNotification,
  ProviderOutcome,
  SettlementLine,
} from '../../provider.js';
import { type ProviderMetrics, providerMetrics } from '../metrics.js';
import { header, type SignatureCheck, verifySignature } from '../signature.js';
import {
  declineOfCode,
  errorBody,
  type OperationBody,
  operationBody,
  settlementBody,
  webhookBody,
} from './wire.js';

export interface RestPayOptions {
  /** rest-pay's base URL (`BV_REST_PAY_URL`), e.g. http://127.0.0.1:8092. */
  url: string;
  /** The HMAC secret webhooks are signed with (`BV_REST_PAY_SECRET`). */
  secret: string;
  timeoutMs?: number;
  toleranceSeconds?: number;
  resilience?: Pick<DependencyPolicyOptions, 'breaker' | 'bulkhead'>;
  registry?: Registry;
  log?: Logger;
  now?: () => Date;
}

/** Largest answer body we read from rest-pay (a settlement report of a busy day fits). */
const maxAnswerBytes = 8 * 1024 * 1024;

/** The adapter for rest-pay, our modern provider: JSON over HTTP, its codes turned into ours. */
export class RestPayProvider implements PaymentProvider {
  readonly name = 'rest-pay';
  private readonly base: string;
  private readonly policy: DependencyPolicy;
  private readonly metrics: ProviderMetrics;
  private readonly check: SignatureCheck;
  private readonly log: Logger;

  constructor(options: RestPayOptions) {
    this.base = options.url.replace(/\/+$/, '');
    const registry = options.registry ?? createRegistry();
    this.log = (options.log ?? silentLogger).child({ provider: this.name });
    this.metrics = providerMetrics(registry, this.name);
    this.policy = dependencyPolicy(
      { name: this.name, timeoutMs: options.timeoutMs ?? 5000, ...options.resilience, logger: this.log },
      registry,
    );
    this.check = {
      secret: options.secret,
      toleranceSeconds: options.toleranceSeconds ?? 300,
      now: options.now ?? (() => new Date()),
    };
  }

  async authorize(request: AuthorizeRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    const body = {
      paymentId: request.paymentId,
      merchantId: request.merchantId,
      customerId: request.customerId,
      amount: { value: request.money.amountMinor, currency: request.money.currency },
      reference: request.reference,
    };
    return this.post('authorize', '/v1/authorizations', request.idempotencyKey, body, signal);
  }

  capture(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    return this.post(
      'capture',
      this.follow(request, 'captures'),
      request.idempotencyKey,
      this.amount(request),
      signal,
    );
  }

  refund(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    return this.post(
      'refund',
      this.follow(request, 'refunds'),
      request.idempotencyKey,
      this.amount(request),
      signal,
    );
  }

  void(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    const body = { paymentId: request.paymentId };
    return this.post('void', this.follow(request, 'void'), request.idempotencyKey, body, signal);
  }

  async status(idempotencyKey: string, signal?: AbortSignal): Promise<OperationStatus> {
    const answer = await this.request(
      'status',
      'GET',
      `/v1/operations/${encodeURIComponent(idempotencyKey)}`,
      {
        signal,
        notFound: true,
      },
    );
    if (answer === undefined) return { known: false };
    return { known: true, ...this.outcome(this.parse('status', operationBody, answer)) };
  }

  async settlement(day: string, signal?: AbortSignal): Promise<SettlementLine[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new ValidationError(`settlement day ${day} is not YYYY-MM-DD`);
    const answer = await this.request('settlement', 'GET', `/v1/settlements/${day}`, { signal });
    return this.parse('settlement', settlementBody, answer).lines.map((l) => ({
      paymentId: l.paymentId,
      providerRef: l.authorizationId,
      operation: l.type,
      money: { amountMinor: l.amount.value, currency: l.amount.currency },
      settledAt: l.settledAt,
    }));
  }

  parseNotification(body: string, headers: Record<string, string>): ProviderNotification {
    try {
      // RestPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
      const parts = new Map(
        (header(headers, 'restpay-signature') ?? '').split(',').map((p) => {
          const at = p.indexOf('=');
          return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
        }),
      );
      verifySignature(this.check, body, parts.get('t'), parts.get('v1'));
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new ValidationError('rest-pay webhook is not JSON', { details: { reason: 'malformed' } });
      }
      const parsed = webhookBody.safeParse(json);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        throw new ValidationError(`rest-pay webhook is malformed: ${why}`, {
          details: { reason: 'malformed' },
        });
      }
      const w = parsed.data;
      return {
        notificationId: w.id,
        paymentId: w.data.paymentId,
        providerRef: w.data.authorizationId,
        operation: w.data.operation,
        outcome: w.type === 'operation.approved' ? 'approved' : 'declined',
        at: w.data.processedAt,
      };
    } catch (error) {
      const reason = (error as ValidationError).details?.reason;
      this.metrics.refused(typeof reason === 'string' ? reason : 'malformed');
      throw error;
    }
  }

  async close(): Promise<void> {
    // fetch keeps no connection we own (undici's global pool closes idle sockets by itself).
  }

  private follow(request: FollowUpRequest, action: string): string {
    return `/v1/authorizations/${encodeURIComponent(request.providerRef)}/${action}`;
  }

  private amount(request: FollowUpRequest) {
    if (!request.money) throw new ValidationError('capture and refund need an amount');
    return {
      paymentId: request.paymentId,
      amount: { value: request.money.amountMinor, currency: request.money.currency },
    };
  }

  private async post(
    operation: string,
    path: string,
    key: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<ProviderOutcome> {
    const answer = await this.request(operation, 'POST', path, { signal, key, body });
    return this.outcome(this.parse(operation, operationBody, answer));
  }

  private outcome(body: OperationBody): ProviderOutcome {
    if (body.status === 'approved') {
      return {
        outcome: 'approved',
        providerRef: body.authorizationId,
        operation: body.operation,
        at: body.processedAt,
      };
    }
    return {
      outcome: 'declined',
      operation: body.operation,
      code: declineOfCode[body.declineCode] ?? 'unknown',
      reason: `${body.declineCode}: ${body.message}`,
    };
  }

  private parse<S extends z.ZodType>(operation: string, schema: S, value: unknown): z.output<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw this.malformed(
        operation,
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    return parsed.data as z.output<S>;
  }

  /** One HTTP call under the policy; returns the JSON answer (undefined for a 404 when asked). */
  private async request(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    options: { signal: AbortSignal | undefined; key?: string; body?: unknown; notFound?: boolean },
  ): Promise<unknown> {
    try {
      const answer = await this.policy.execute(async (signal) => {
        let response: Response;
        let text: string;
        try {
          response = await fetch(`${this.base}${path}`, {
            method,
            signal,
            headers: {
              accept: 'application/json',
              ...(options.key ? { 'idempotency-key': options.key } : {}),
              ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
          });
          const length = Number(response.headers.get('content-length') ?? 0);
          if (length > maxAnswerBytes) throw this.malformed(operation, `answer of ${length} bytes`);
          text = await response.text();
        } catch (error) {
          if (error instanceof UnavailableError) throw error;
          if (signal.aborted)
            throw new TimeoutError(`rest-pay: ${operation} got no answer in time`, { cause: error });
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new UnavailableError(`rest-pay: ${operation} failed: ${cause?.message ?? String(error)}`, {
            cause: error,
            details: { code: cause?.code },
          });
        }
        return this.answer(operation, response.status, text, options.notFound === true);
      }, options.signal);
      this.metrics.call(operation, 'ok');
      return answer;
    } catch (error) {
      this.metrics.call(operation, (error as { code?: string }).code ?? 'error');
      throw error;
    }
  }

  private answer(operation: string, status: number, text: string, notFound: boolean): unknown {
    if (status === 404 && notFound) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.malformed(operation, `HTTP ${status}, not JSON: ${text.slice(0, 120)}`);
    }
    if (status === 200) return json;
    const problem = errorBody.safeParse(json);
    const message = problem.success
      ? `${problem.data.error.code}: ${problem.data.error.message}`
      : `HTTP ${status}`;
    // 4xx: our request was wrong (not retriable); anything else is rest-pay's trouble.
    if (status >= 400 && status < 500) throw new ValidationError(`rest-pay refused ${operation}: ${message}`);
    throw new UnavailableError(`rest-pay ${operation}: ${message}`, { details: { status } });
  }

  private malformed(operation: string, why: string): UnavailableError {
    this.metrics.malformed();
    this.log.warn({ operation, why }, 'malformed answer from rest-pay');
    return new UnavailableError(`rest-pay: malformed ${operation} answer (${why})`, {
      details: { malformed: true },
    });
  }
}
