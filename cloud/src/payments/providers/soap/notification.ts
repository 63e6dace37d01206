import { ValidationError } from '@bitv/shared';
import { z } from 'zod';
import type { ProviderNotification } from '../../provider.js';
import { header, type SignatureCheck, verifySignature } from '../signature.js';
import { approvedCode, operationOfTxn, txnType } from './wire.js';

/**
 * The bank's asynchronous notification: form fields (application/x-www-form-urlencoded), signed in
 * `X-Bank-Signature` (hex HMAC-SHA256 of `<X-Bank-Timestamp>.<body>`).
 */
const fields = z
  .object({
    NotificationId: z.string().min(1).max(128),
    PaymentId: z.string().min(1).max(128),
    TransactionRef: z.string().min(1).max(128),
    TxnType: txnType,
    ResponseCode: z.string().regex(/^[0-9A-Z]{2}$/),
    ProcessedAt: z.iso.datetime(),
  })
  .strict();

export function parseBankNotification(
  check: SignatureCheck,
  body: string,
  headers: Record<string, string>,
): ProviderNotification {
  verifySignature(check, body, header(headers, 'x-bank-timestamp'), header(headers, 'x-bank-signature'));
  const parsed = fields.safeParse(Object.fromEntries(new URLSearchParams(body)));
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(`bank notification is malformed: ${why}`, { details: { reason: 'malformed' } });
  }
  const n = parsed.data;
  return {
    notificationId: n.NotificationId,
    paymentId: n.PaymentId,
    providerRef: n.TransactionRef,
    operation: operationOfTxn[n.TxnType],
    outcome: n.ResponseCode === approvedCode ? 'approved' : 'declined',
    at: n.ProcessedAt,
  };
}
