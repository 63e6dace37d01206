import { NotFoundError } from '@bitv/shared';
import type { CheckoutFailure, CheckoutStep } from './saga.js';

/** What checkout needs of payments (the payments module's `PaymentsApi`). */
export interface CheckoutPayments {
  authorize(input: {
    paymentId: string;
    orderId: string;
    merchantId: string;
    customerId: string;
    amountMinor: number;
    currency: string;
  }): Promise<{ status: string; failure?: { code: string; reason: string } }>;
  void(paymentId: string): Promise<unknown>;
}

/** Prices of the catalog (`CatalogApi.getProduct`), NotFoundError for an unknown SKU. */
export interface CheckoutPrices {
  getProduct(sku: string): Promise<{ priceMinor: number | null; currency: string | null }>;
}

export interface PaymentStepDeps {
  /**
   * Read when a checkout runs, not when the saga is built: the payments module mounts after
   * orders. Absent (the module is not mounted): checkout takes no payment.
   */
  payments: () => { payments: CheckoutPayments; prices: CheckoutPrices } | undefined;
}

/** An order's payment id: one payment per order, so a resumed checkout asks for the same one. */
export function orderPaymentId(orderId: string): string {
  return orderId;
}

/**
 * Authorize the order's total (catalog price × quantity per line) before it is confirmed. A
 * decline (or a line without a price) fails checkout: the holds are released and the order is
 * rejected with the reason. The compensation voids the authorization (the order was cancelled
 * during checkout, or confirming failed). Both are idempotent on the payment id, and the payments
 * service resolves an authorization a crash left pending before it voids.
 */
export function authorizePayment(deps: PaymentStepDeps): CheckoutStep {
  return {
    name: 'authorize-payment',
    async run(ctx) {
      const state = ctx.state;
      const wired = deps.payments();
      if (!wired) return { state };
      let total = 0;
      let currency: string | undefined;
      for (const line of state.lines) {
        let product: { priceMinor: number | null; currency: string | null };
        try {
          product = await wired.prices.getProduct(line.sku);
        } catch (error) {
          if (error instanceof NotFoundError)
            return fail(state, noPrice(line.sku, line.lineId, 'is not in the catalog'));
          throw error;
        }
        if (product.priceMinor === null || product.currency === null) {
          return fail(state, noPrice(line.sku, line.lineId, 'has no price'));
        }
        if (currency && currency !== product.currency) {
          return fail(state, {
            code: 'mixed_currency',
            reason: `line ${line.lineId} (${line.sku}) is priced in ${product.currency}, others in ${currency}`,
            lineId: line.lineId,
          });
        }
        currency = product.currency;
        total += product.priceMinor * line.quantity;
      }
      if (total <= 0 || !currency) return { state };
      const payment = await wired.payments.authorize({
        paymentId: orderPaymentId(state.orderId),
        orderId: state.orderId,
        merchantId: state.siteId,
        customerId: state.customerId,
        amountMinor: total,
        currency,
      });
      if (payment.status === 'failed') {
        const f = payment.failure ?? { code: 'declined', reason: 'the payment was declined' };
        return fail(state, { code: 'payment_declined', reason: `payment declined: ${f.code} (${f.reason})` });
      }
      return { state };
    },
    async compensate(ctx) {
      const wired = deps.payments();
      if (wired) await wired.payments.void(orderPaymentId(ctx.state.orderId));
      return ctx.state;
    },
  };
}

function noPrice(sku: string, lineId: string, what: string): CheckoutFailure {
  return { code: 'no_price', reason: `product ${sku} ${what}: the order cannot be paid`, lineId };
}

function fail<S>(state: S, failure: CheckoutFailure) {
  return { state, failure };
}
