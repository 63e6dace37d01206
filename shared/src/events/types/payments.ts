import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);
const at = z.string().datetime({ offset: true });
const minor = z.number().int().nonnegative().max(1_000_000_000_00);
const currency = z.string().regex(/^[A-Z]{3}$/);

/**
 * Who a payment belongs to and where it went: every payment event carries it, so a consumer
 * (webhooks, the payments page) needs no lookup. `provider` is the one that authorized it; every
 * later operation goes there (the toggle routes only new payments).
 */
const paymentRef = {
  paymentId: id,
  orderId: id,
  /** The merchant is the site the order is filled at. */
  merchantId: id,
  customerId: id,
  provider: z.string().min(1).max(64),
  currency,
};

export const paymentAuthorizedV1 = defineEvent({
  type: 'bv.payment.authorized.v1',
  topic: topics.payments,
  description: 'The provider authorized the amount (held on the shopper’s card, not yet taken)',
  schema: z.object({ ...paymentRef, providerRef: id, amountMinor: minor.positive(), at }),
});

export const paymentFailedV1 = defineEvent({
  type: 'bv.payment.failed.v1',
  topic: topics.payments,
  description: 'Authorization was declined (by the provider, or by our fraud check before asking it)',
  schema: z.object({
    ...paymentRef,
    amountMinor: minor,
    /** A DeclineCode of the payments port: insufficient-funds, fraud-suspected, ... */
    code: z.string().min(1).max(64),
    reason: z.string().min(1).max(500),
    at,
  }),
});

export const paymentCapturedV1 = defineEvent({
  type: 'bv.payment.captured.v1',
  topic: topics.payments,
  description: 'Part or all of the authorized amount was taken',
  schema: z.object({
    ...paymentRef,
    providerRef: id,
    /** This capture; `capturedMinor` is the total so far. */
    amountMinor: minor.positive(),
    capturedMinor: minor,
    at,
  }),
});

export const paymentVoidedV1 = defineEvent({
  type: 'bv.payment.voided.v1',
  topic: topics.payments,
  description: 'The authorization was released before anything was captured',
  schema: z.object({ ...paymentRef, providerRef: id, amountMinor: minor, at }),
});

export const paymentRefundedV1 = defineEvent({
  type: 'bv.payment.refunded.v1',
  topic: topics.payments,
  description: 'Part or all of the captured amount was given back',
  schema: z.object({
    ...paymentRef,
    providerRef: id,
    /** This refund; `refundedMinor` is the total so far. */
    amountMinor: minor.positive(),
    refundedMinor: minor,
    at,
  }),
});

export type PaymentAuthorized = z.infer<typeof paymentAuthorizedV1.schema>;
export type PaymentFailed = z.infer<typeof paymentFailedV1.schema>;
export type PaymentCaptured = z.infer<typeof paymentCapturedV1.schema>;
export type PaymentVoided = z.infer<typeof paymentVoidedV1.schema>;
export type PaymentRefunded = z.infer<typeof paymentRefundedV1.schema>;

export const paymentEvents = [
  paymentAuthorizedV1,
  paymentFailedV1,
  paymentCapturedV1,
  paymentVoidedV1,
  paymentRefundedV1,
] as const;
