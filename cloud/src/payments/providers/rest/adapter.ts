import { TimeoutError, UnavailableError, ValidationError } from '@bitv/shared';
import type {
  AuthorizeRequest,
  FollowUpRequest,
  OperationStatus,
  PaymentProvider,
  ProviderNotification,
  ProviderOutcome,
  SettlementLine,
} from '../../provider.js';
import { issuesText, ProviderKit, type ProviderOptions } from '../kit.js';
import { header, verifySignature } from '../signature.js';
import {
  declineOfCode,
  errorBody,
  type OperationBody,
  operationBody,
  settlementBody,
  webhookBody,
} from './wire.js';

/** rest-pay's options: `url` is its base URL, e.g. http://127.0.0.1:8092. */
export type RestPayOptions = ProviderOptions;

/** Largest answer body we read from rest-pay (a settlement report of a busy day fits). */
const maxAnswerBytes = 8 * 1024 * 1024;

/** The adapter for rest-pay, our modern provider: JSON over HTTP, its codes turned into ours. */
export class RestPayProvider implements PaymentProvider {
  readonly name = 'rest-pay';
  private readonly base: string;
  private readonly kit: ProviderKit;

  constructor(options: RestPayOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.kit = new ProviderKit(this.name, options);
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
    return { known: true, ...this.outcome(this.kit.parse('status', operationBody, answer)) };
  }

  async settlement(day: string, signal?: AbortSignal): Promise<SettlementLine[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new ValidationError(`settlement day ${day} is not YYYY-MM-DD`);
    const answer = await this.request('settlement', 'GET', `/v1/settlements/${day}`, { signal });
    return this.kit.parse('settlement', settlementBody, answer).lines.map((l) => ({
      paymentId: l.paymentId,
      providerRef: l.authorizationId,
      operation: l.type,
      money: { amountMinor: l.amount.value, currency: l.amount.currency },
      settledAt: l.settledAt,
    }));
  }

  parseNotification(body: string, headers: Record<string, string>): ProviderNotification {
    return this.kit.notification(() => {
      // RestPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
      const parts = new Map(
        (header(headers, 'restpay-signature') ?? '').split(',').map((p) => {
          const at = p.indexOf('=');
          return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
        }),
      );
      verifySignature(this.kit.check, body, parts.get('t'), parts.get('v1'));
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new ValidationError('rest-pay webhook is not JSON', { details: { reason: 'malformed' } });
      }
      const parsed = webhookBody.safeParse(json);
      if (!parsed.success) {
        throw new ValidationError(`rest-pay webhook is malformed: ${issuesText(parsed.error)}`, {
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
    });
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
    return this.outcome(this.kit.parse(operation, operationBody, answer));
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

  /** One HTTP call under the policy; returns the JSON answer (undefined for a 404 when asked). */
  private request(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    options: { signal: AbortSignal | undefined; key?: string; body?: unknown; notFound?: boolean },
  ): Promise<unknown> {
    return this.kit.call(
      operation,
      async (signal) => {
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
          if (length > maxAnswerBytes) throw this.kit.malformed(operation, `answer of ${length} bytes`);
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
      },
      options.signal,
    );
  }

  private answer(operation: string, status: number, text: string, notFound: boolean): unknown {
    if (status === 404 && notFound) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.kit.malformed(operation, `HTTP ${status}, not JSON: ${text.slice(0, 120)}`);
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
}
