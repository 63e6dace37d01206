import type { LedgerDecline, LedgerOperation } from '../payments-ledger/index.js';

/**
 * The bank's own words: two-character response codes after ISO 8583 field 39 where one exists
 * ("00", "05", "51", "59", "13", "25", "61"), and two of its own ("N7", "N8") where ISO has none.
 */
export const approvedCode = { code: '00', text: 'APPROVED' } as const;

export const declineCodes: Record<LedgerDecline, { code: string; text: string }> = {
  'do-not-honor': { code: '05', text: 'DO NOT HONOR' },
  'insufficient-funds': { code: '51', text: 'INSUFFICIENT FUNDS' },
  'suspected-fraud': { code: '59', text: 'SUSPECTED FRAUD' },
  'invalid-amount': { code: '13', text: 'INVALID AMOUNT' },
  'no-such-authorization': { code: '25', text: 'UNABLE TO LOCATE RECORD' },
  'exceeds-authorized': { code: '61', text: 'EXCEEDS AMOUNT LIMIT' },
  'already-voided': { code: 'N7', text: 'TRANSACTION ALREADY REVERSED' },
  'already-captured': { code: 'N8', text: 'TRANSACTION ALREADY SETTLED' },
};

/** Fault strings: the client's mistake (`soap:Client`) or the bank's trouble (`soap:Server`). */
export const faultTexts = {
  format: '30 FORMAT ERROR',
  duplicate: '94 DUPLICATE TRANSMISSION',
  inoperative: '91 ISSUER OR SWITCH INOPERATIVE',
} as const;

export const txnTypes: Record<LedgerOperation, string> = {
  authorize: 'AUTH',
  capture: 'CAPTURE',
  void: 'VOID',
  refund: 'REFUND',
};
