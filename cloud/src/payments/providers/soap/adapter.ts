import { fileURLToPath } from 'node:url';
import { TimeoutError, UnavailableError, ValidationError } from '@bitv/shared';
import * as soap from 'soap';
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
import { ProviderKit, type ProviderOptions } from '../kit.js';
import { parseBankNotification } from './notification.js';
import {
  approvedCode,
  declineOfCode,
  operationOfTxn,
  settlementResponse,
  statusResponse,
  type TransactionResult,
  transactionResult,
} from './wire.js';

/** Our copy of the bank's contract: the adapter starts without asking the bank for its WSDL. */
const wsdlPath = fileURLToPath(new URL('./bank.wsdl', import.meta.url));

/** The bank's options: `url` is its SOAP endpoint, e.g. http://127.0.0.1:8091/bank. */
export type SoapBankOptions = ProviderOptions;

type SoapMethod = (args: unknown, options: { signal: AbortSignal }) => Promise<[unknown, ...unknown[]]>;

/** Builds the adapter (parses the WSDL; does not contact the bank). */
export async function createSoapBankProvider(options: SoapBankOptions): Promise<PaymentProvider> {
  const client = await soap.createClientAsync(wsdlPath, {}, options.url);
  return new SoapBankProvider(client, options);
}

/**
 * The anti-corruption layer for the legacy bank: our requests become SOAP documents, its answers
 * (response codes, TxnTypes, faults, dropped connections) become our outcomes and errors.
 * No retry here: a retry needs a `status` check first, and only the payments module knows when.
 */
export class SoapBankProvider implements PaymentProvider {
  readonly name = 'soap-bank';
  private readonly kit: ProviderKit;

  constructor(
    private readonly client: soap.Client,
    options: SoapBankOptions,
  ) {
    this.kit = new ProviderKit(this.name, options);
  }

  async authorize(request: AuthorizeRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    const args = {
      RequestKey: request.idempotencyKey,
      MerchantId: request.merchantId,
      CustomerId: request.customerId,
      PaymentId: request.paymentId,
      Amount: request.money.amountMinor,
      Currency: request.money.currency,
      Reference: request.reference,
    };
    return this.outcome(await this.call('authorize', 'Authorize', args, transactionResult, signal));
  }

  async capture(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    return this.outcome(
      await this.call('capture', 'Capture', this.followUp(request), transactionResult, signal),
    );
  }

  async refund(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    return this.outcome(
      await this.call('refund', 'Refund', this.followUp(request), transactionResult, signal),
    );
  }

  async void(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome> {
    const args = {
      RequestKey: request.idempotencyKey,
      TransactionRef: request.providerRef,
      PaymentId: request.paymentId,
    };
    return this.outcome(await this.call('void', 'Void', args, transactionResult, signal));
  }

  async status(idempotencyKey: string, signal?: AbortSignal): Promise<OperationStatus> {
    const answer = await this.call(
      'status',
      'GetStatus',
      { RequestKey: idempotencyKey },
      statusResponse,
      signal,
    );
    if (!answer.Found) return { known: false };
    if (!answer.Result) throw this.kit.malformed('GetStatus', 'Found without a Result');
    return { known: true, ...this.outcome(answer.Result) };
  }

  async settlement(day: string, signal?: AbortSignal): Promise<SettlementLine[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new ValidationError(`settlement day ${day} is not YYYY-MM-DD`);
    const report = await this.call(
      'settlement',
      'GetSettlementReport',
      { BusinessDate: day },
      settlementResponse,
      signal,
    );
    return report.Line.map((line) => ({
      paymentId: line.PaymentId,
      providerRef: line.TransactionRef,
      operation: line.TxnType === 'CAPTURE' ? 'capture' : 'refund',
      money: { amountMinor: line.Amount, currency: line.Currency },
      settledAt: line.SettledAt,
    }));
  }

  parseNotification(body: string, headers: Record<string, string>): ProviderNotification {
    return this.kit.notification(() => parseBankNotification(this.kit.check, body, headers));
  }

  async close(): Promise<void> {
    // The soap client holds no connection of its own (each call is one HTTP request): nothing to close.
  }

  private followUp(request: FollowUpRequest) {
    if (!request.money) throw new ValidationError('capture and refund need an amount');
    return {
      RequestKey: request.idempotencyKey,
      TransactionRef: request.providerRef,
      PaymentId: request.paymentId,
      Amount: request.money.amountMinor,
      Currency: request.money.currency,
    };
  }

  private outcome(result: TransactionResult): ProviderOutcome {
    const operation = operationOfTxn[result.TxnType];
    if (result.ResponseCode === approvedCode) {
      if (!result.TransactionRef)
        throw this.kit.malformed(result.TxnType, 'approval without a TransactionRef');
      return { outcome: 'approved', providerRef: result.TransactionRef, operation, at: result.ProcessedAt };
    }
    return {
      outcome: 'declined',
      operation,
      code: declineOfCode[result.ResponseCode] ?? 'unknown',
      reason: `${result.ResponseCode} ${result.ResponseText}`,
    };
  }

  /** One SOAP call under the bank's policy; the answer checked against `schema`. */
  private call<S extends z.ZodType>(
    operation: string,
    method: string,
    args: Record<string, unknown>,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const fn = this.client[`${method}Async`] as SoapMethod;
    return this.kit.call(
      operation,
      async (callSignal) => {
        let raw: unknown;
        try {
          [raw] = await fn.call(this.client, args, { signal: callSignal });
        } catch (error) {
          throw this.translate(method, error, callSignal);
        }
        return this.kit.parse(method, schema, raw);
      },
      signal,
    );
  }

  private translate(method: string, error: unknown, signal: AbortSignal): Error {
    if (signal.aborted)
      return new TimeoutError(`soap-bank: ${method} got no answer in time`, { cause: error });
    const e = error as {
      root?: { Envelope?: { Body?: { Fault?: { faultcode?: unknown; faultstring?: unknown } } } };
      response?: { status?: number };
      code?: unknown;
      message?: string;
    };
    const fault = e.root?.Envelope?.Body?.Fault;
    if (fault) {
      const text = `${String(fault.faultcode)}: ${String(fault.faultstring)}`;
      // soap:Client is our request's fault (not retriable); soap:Server is the bank's trouble.
      return String(fault.faultcode).endsWith('Client')
        ? new ValidationError(`soap-bank refused ${method}: ${text}`, { cause: error })
        : new UnavailableError(`soap-bank fault on ${method}: ${text}`, { cause: error });
    }
    if (e.response?.status === 413) {
      return new ValidationError(`soap-bank refused ${method}: request too large (HTTP 413)`, {
        cause: error,
      });
    }
    if (e.response) {
      return this.kit.malformed(
        method,
        `HTTP ${e.response.status ?? '?'}: ${(e.message ?? '').slice(0, 200)}`,
      );
    }
    return new UnavailableError(`soap-bank: ${method} failed: ${e.message ?? String(error)}`, {
      cause: error,
      details: { code: typeof e.code === 'string' ? e.code : undefined },
    });
  }
}
