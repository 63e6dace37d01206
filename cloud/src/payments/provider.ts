/**
 * The payments port: what the cloud asks of a payment provider, in our own terms. Each provider
 * (the legacy SOAP bank, the modern REST service) is one adapter folder under `providers/` that
 * translates to and from its wire (SOAP types, faults, codes stay there: the anti-corruption layer).
 * One compatibility suite (`providers/provider.contract.ts`) runs against every adapter on its real
 * server and expects the same domain results.
 */

/** Amounts are integer minor units (cents) with an ISO 4217 currency code. */
export interface Money {
  amountMinor: number;
  currency: string;
}

/**
 * Every call carries an idempotency key that the caller stored before calling: the same key twice
 * is the same operation (the provider answers the first outcome again), so a retry after a timeout
 * can never charge twice.
 */
export interface AuthorizeRequest {
  idempotencyKey: string;
  /** Our payment id (the provider echoes it in notifications and the settlement report). */
  paymentId: string;
  merchantId: string;
  customerId: string;
  money: Money;
  /** What the shopper sees on a statement (the order id). */
  reference: string;
}

export interface FollowUpRequest {
  idempotencyKey: string;
  paymentId: string;
  /** The provider's id of the authorization, from `authorize`. */
  providerRef: string;
  /** Capture and refund amounts (full or partial); void takes none. */
  money?: Money;
}

export type Operation = 'authorize' | 'capture' | 'void' | 'refund';

/** A call's outcome in our terms. A decline is an answer, not an error. */
export type ProviderOutcome =
  | { outcome: 'approved'; providerRef: string; operation: Operation; at: string }
  | { outcome: 'declined'; operation: Operation; code: DeclineCode; reason: string };

export type DeclineCode =
  | 'insufficient-funds'
  | 'card-declined'
  | 'fraud-suspected'
  | 'invalid-amount'
  | 'already-voided'
  | 'already-captured'
  | 'not-authorized'
  | 'amount-exceeds-authorized'
  | 'unknown';

/** What the provider knows about an operation we may or may not have reached it with. */
export type OperationStatus = { known: false } | ({ known: true } & ProviderOutcome);

/** One captured or refunded amount as the provider settled it on a day. */
export interface SettlementLine {
  paymentId: string;
  providerRef: string;
  operation: 'capture' | 'refund';
  money: Money;
  settledAt: string;
}

/**
 * An asynchronous notification from the provider (a late capture result, a chargeback), verified
 * and translated by the adapter. Notifications are at-least-once and may arrive late or twice:
 * `notificationId` is what deduplicates them.
 */
export interface ProviderNotification {
  notificationId: string;
  paymentId: string;
  providerRef: string;
  operation: Operation;
  outcome: 'approved' | 'declined';
  at: string;
}

export interface PaymentProvider {
  /** `soap-bank` or `rest-pay`: what the toggle routes by and metrics are labelled with. */
  readonly name: string;
  authorize(request: AuthorizeRequest, signal?: AbortSignal): Promise<ProviderOutcome>;
  capture(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome>;
  void(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome>;
  refund(request: FollowUpRequest, signal?: AbortSignal): Promise<ProviderOutcome>;
  /** Looked up by idempotency key: asked before any retry, so a committed call is not repeated. */
  status(idempotencyKey: string, signal?: AbortSignal): Promise<OperationStatus>;
  /** The provider's settlement report for one UTC day (`YYYY-MM-DD`). */
  settlement(day: string, signal?: AbortSignal): Promise<SettlementLine[]>;
  /**
   * Verifies and translates a notification as it arrived over HTTP (raw body and headers). Throws
   * `ValidationError` (forged, replayed beyond the window, malformed): the caller counts and refuses it.
   */
  parseNotification(body: string, headers: Record<string, string>): ProviderNotification;
  close(): Promise<void>;
}

/**
 * Errors a provider call may end in besides an outcome (from `@bitv/shared` errors):
 * `TimeoutError` / `UnavailableError` (retriable: the call may or may not have committed, so ask
 * `status` before retrying), `ValidationError` (our request was wrong: not retriable).
 */
