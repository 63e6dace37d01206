import { z } from 'zod';
import type { DeclineCode, Operation } from '../../provider.js';

/**
 * The legacy bank's answers as the `soap` package parses them (see bank.wsdl): dates arrive as
 * Date objects, xs:long as numbers or text, a single repeated element as an object instead of a
 * list. Checked here, once; nothing past this file sees a SOAP shape.
 */
const instant = z
  .union([z.date(), z.string().min(1)])
  .transform((v) => (v instanceof Date ? v : new Date(v)))
  .refine((d) => !Number.isNaN(d.getTime()), 'not a date-time')
  .transform((d) => d.toISOString());

export const txnType = z.enum(['AUTH', 'CAPTURE', 'VOID', 'REFUND']);

export const operationOfTxn: Record<z.infer<typeof txnType>, Operation> = {
  AUTH: 'authorize',
  CAPTURE: 'capture',
  VOID: 'void',
  REFUND: 'refund',
};

export const transactionResult = z.object({
  ResponseCode: z.string().regex(/^[0-9A-Z]{2}$/, 'two-character response code'),
  ResponseText: z.string(),
  TxnType: txnType,
  TransactionRef: z.string().min(1).optional(),
  ProcessedAt: instant,
});
export type TransactionResult = z.infer<typeof transactionResult>;

export const statusResponse = z.object({
  Found: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]),
  Result: transactionResult.optional(),
});

const settlementLine = z.object({
  PaymentId: z.string().min(1),
  TransactionRef: z.string().min(1),
  TxnType: z.enum(['CAPTURE', 'REFUND']),
  Amount: z.coerce.number().int().safe(),
  Currency: z.string().regex(/^[A-Z]{3}$/),
  SettledAt: instant,
});

export const settlementResponse = z
  .object({
    LineCount: z.coerce.number().int().min(0),
    Line: z
      .union([z.array(settlementLine), settlementLine])
      .optional()
      .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  })
  .refine((r) => r.Line.length === r.LineCount, 'LineCount does not match the lines sent');

/** The bank's response codes in our terms ("00" is approval; anything unknown is `unknown`). */
export const declineOfCode: Record<string, DeclineCode> = {
  '05': 'card-declined',
  '51': 'insufficient-funds',
  '59': 'fraud-suspected',
  '13': 'invalid-amount',
  '25': 'not-authorized',
  '61': 'amount-exceeds-authorized',
  N7: 'already-voided',
  N8: 'already-captured',
};

export const approvedCode = '00';
