import { z } from 'zod';
import type { DeclineCode, Operation } from '../../provider.js';

/** rest-pay's JSON answers and webhooks, checked once here. */
const operation = z.enum(['authorize', 'capture', 'void', 'refund']) satisfies z.ZodType<Operation>;

export const operationBody = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('approved'),
    operation,
    authorizationId: z.string().min(1),
    processedAt: z.iso.datetime(),
  }),
  z.object({
    status: z.literal('declined'),
    operation,
    authorizationId: z.string().nullable(),
    declineCode: z.string(),
    message: z.string(),
    processedAt: z.iso.datetime(),
  }),
]);
export type OperationBody = z.infer<typeof operationBody>;

export const settlementBody = z.object({
  day: z.string(),
  lines: z.array(
    z.object({
      paymentId: z.string().min(1),
      authorizationId: z.string().min(1),
      type: z.enum(['capture', 'refund']),
      amount: z.object({ value: z.number().int().safe(), currency: z.string().regex(/^[A-Z]{3}$/) }),
      settledAt: z.iso.datetime(),
    }),
  ),
});

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const webhookBody = z.object({
  id: z.string().min(1).max(128),
  type: z.enum(['operation.approved', 'operation.declined']),
  data: z.object({
    paymentId: z.string().min(1).max(128),
    authorizationId: z.string().min(1).max(128),
    operation,
    processedAt: z.iso.datetime(),
  }),
});

export const declineOfCode: Record<string, DeclineCode> = {
  insufficient_funds: 'insufficient-funds',
  card_declined: 'card-declined',
  fraudulent: 'fraud-suspected',
  invalid_amount: 'invalid-amount',
  authorization_voided: 'already-voided',
  authorization_captured: 'already-captured',
  authorization_not_found: 'not-authorized',
  amount_too_large: 'amount-exceeds-authorized',
};
