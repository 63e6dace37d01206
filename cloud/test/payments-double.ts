import { randomUUID } from 'node:crypto';
import { TimeoutError, ValidationError } from '@bitv/shared';
import type {
  AuthorizeRequest,
  FollowUpRequest,
  Operation,
  OperationStatus,
  PaymentProvider,
  ProviderNotification,
  ProviderOutcome,
  SettlementLine,
} from '../src/payments/provider.js';

/**
 * A TEST DOUBLE of a payment provider, for the payments module's own tests while the real adapters
 * (SOAP bank, REST provider) are built elsewhere: it keeps the port's promises (one outcome per
 * idempotency key, answered again for the same key; status by key; a settlement of what it
 * captured and refunded) and can commit an operation and then time out, as the real bank's fault
 * settings do. Never shipped: it lives in `cloud/test/`.
 */
export class ProviderDouble implements PaymentProvider {
  readonly byKey = new Map<string, ProviderOutcome>();
  /** Operations actually performed (not replays): what the test counts charges by. */
  readonly performed: { operation: Operation; paymentId: string; amountMinor: number; key: string }[] = [];
  readonly settled: SettlementLine[] = [];
  private readonly auths = new Map<
    string,
    { paymentId: string; amount: number; captured: number; voided: boolean }
  >();
  /** Operations whose next call commits and then throws a TimeoutError (answer lost). */
  timeoutAfterCommit = new Set<Operation>();
  /** Declines every authorization of these customers. */
  declineCustomers = new Set<string>();
  calls = 0;
  statusCalls = 0;

  constructor(readonly name: string) {}

  async authorize(r: AuthorizeRequest): Promise<ProviderOutcome> {
    return this.run('authorize', r.idempotencyKey, () => {
      if (this.declineCustomers.has(r.customerId)) {
        return {
          outcome: 'declined',
          operation: 'authorize',
          code: 'card-declined',
          reason: 'declined by issuer',
        };
      }
      const providerRef = `${this.name}-${randomUUID()}`;
      this.auths.set(providerRef, {
        paymentId: r.paymentId,
        amount: r.money.amountMinor,
        captured: 0,
        voided: false,
      });
      this.performed.push({
        operation: 'authorize',
        paymentId: r.paymentId,
        amountMinor: r.money.amountMinor,
        key: r.idempotencyKey,
      });
      return { outcome: 'approved', operation: 'authorize', providerRef, at: new Date().toISOString() };
    });
  }

  async capture(r: FollowUpRequest): Promise<ProviderOutcome> {
    return this.run('capture', r.idempotencyKey, () => {
      const a = this.auths.get(r.providerRef);
      const amount = r.money?.amountMinor ?? 0;
      if (!a) return decline('capture', 'not-authorized');
      if (a.voided) return decline('capture', 'already-voided');
      if (a.captured + amount > a.amount) return decline('capture', 'amount-exceeds-authorized');
      a.captured += amount;
      return this.settle('capture', r, amount);
    });
  }

  async void(r: FollowUpRequest): Promise<ProviderOutcome> {
    return this.run('void', r.idempotencyKey, () => {
      const a = this.auths.get(r.providerRef);
      if (!a) return decline('void', 'not-authorized');
      if (a.voided) return decline('void', 'already-voided');
      if (a.captured > 0) return decline('void', 'already-captured');
      a.voided = true;
      this.performed.push({
        operation: 'void',
        paymentId: r.paymentId,
        amountMinor: a.amount,
        key: r.idempotencyKey,
      });
      return {
        outcome: 'approved',
        operation: 'void',
        providerRef: r.providerRef,
        at: new Date().toISOString(),
      };
    });
  }

  async refund(r: FollowUpRequest): Promise<ProviderOutcome> {
    return this.run('refund', r.idempotencyKey, () => {
      const a = this.auths.get(r.providerRef);
      if (!a || a.captured === 0) return decline('refund', 'not-authorized');
      return this.settle('refund', r, r.money?.amountMinor ?? 0);
    });
  }

  async status(key: string): Promise<OperationStatus> {
    this.statusCalls += 1;
    const o = this.byKey.get(key);
    return o ? { known: true, ...o } : { known: false };
  }

  async settlement(day: string): Promise<SettlementLine[]> {
    return this.settled.filter((l) => l.settledAt.startsWith(day));
  }

  parseNotification(body: string): ProviderNotification {
    const parsed = JSON.parse(body) as ProviderNotification & { secret?: string };
    if (parsed.secret !== 'double-secret')
      throw new ValidationError('notification signature does not verify');
    const { secret: _s, ...n } = parsed;
    return n;
  }

  async close(): Promise<void> {}

  private settle(operation: 'capture' | 'refund', r: FollowUpRequest, amount: number): ProviderOutcome {
    const at = new Date().toISOString();
    this.performed.push({ operation, paymentId: r.paymentId, amountMinor: amount, key: r.idempotencyKey });
    this.settled.push({
      paymentId: r.paymentId,
      providerRef: r.providerRef,
      operation,
      money: { amountMinor: amount, currency: r.money?.currency ?? 'EUR' },
      settledAt: at,
    });
    return { outcome: 'approved', operation, providerRef: r.providerRef, at };
  }

  private run(operation: Operation, key: string, perform: () => ProviderOutcome): ProviderOutcome {
    this.calls += 1;
    let outcome = this.byKey.get(key);
    if (!outcome) {
      outcome = perform();
      this.byKey.set(key, outcome);
    }
    if (this.timeoutAfterCommit.delete(operation)) {
      throw new TimeoutError(`${this.name} ${operation}: committed, but the answer timed out (injected)`);
    }
    return outcome;
  }
}

function decline(
  operation: Operation,
  code: 'not-authorized' | 'already-voided' | 'already-captured' | 'amount-exceeds-authorized',
): ProviderOutcome {
  return { outcome: 'declined', operation, code, reason: code };
}
