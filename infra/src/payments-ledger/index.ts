export { type DeskWords, PaymentDesk, type PaymentServiceOptions } from './desk.js';
export { FaultInjector, type FaultSettings, faultSettingsSchema, noFaults } from './faults.js';
export { BodyTooLarge, defaultMaxBodyBytes, readBody, sendJson, serveOps } from './http.js';
export {
  type LedgerDecline,
  type LedgerOperation,
  type LedgerRequest,
  type LedgerResult,
  PaymentLedger,
  RequestKeyConflict,
  type SettledLine,
} from './ledger.js';
export { Notifier, type OutgoingNotification, signPayload } from './notifier.js';
