import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * The book of authorizations both of our payment services keep (the legacy SOAP bank and rest-pay):
 * the money rules are the same, only the wire differs. Every request carries the client's request
 * key; the key, a fingerprint of the request and the answer are written in the same SQLite
 * transaction as the money, so the same key always gets the same answer (even after a restart)
 * and a key reused for another request is refused.
 */

export type LedgerOperation = 'authorize' | 'capture' | 'void' | 'refund';

/** Why the ledger declined, in neutral words: each service turns them into its own codes. */
export type LedgerDecline =
  | 'insufficient-funds'
  | 'do-not-honor'
  | 'suspected-fraud'
  | 'invalid-amount'
  | 'already-voided'
  | 'already-captured'
  | 'no-such-authorization'
  | 'exceeds-authorized';

export type LedgerRequest =
  | {
      operation: 'authorize';
      paymentId: string;
      merchantId: string;
      customerId: string;
      amountMinor: number;
      currency: string;
      reference: string;
    }
  | { operation: 'capture' | 'refund'; paymentId: string; ref: string; amountMinor: number; currency: string }
  | { operation: 'void'; paymentId: string; ref: string };

export type LedgerResult =
  | { approved: true; operation: LedgerOperation; paymentId: string; ref: string; at: string }
  | {
      approved: false;
      operation: LedgerOperation;
      paymentId: string;
      ref: string | null;
      decline: LedgerDecline;
      reason: string;
      at: string;
    };

export interface SettledLine {
  paymentId: string;
  ref: string;
  operation: 'capture' | 'refund';
  amountMinor: number;
  currency: string;
  settledAt: string;
}

/** The same request key came with another request: the client has a bug, not a retry. */
export class RequestKeyConflict extends Error {
  constructor(key: string) {
    super(`request key ${key} was already used for a different request`);
    this.name = 'RequestKeyConflict';
  }
}

export interface LedgerOptions {
  /** SQLite file; `:memory:` keeps nothing across restarts. */
  path: string;
  /** Prefix of authorization references (`TX` for the bank, `auth_` for rest-pay). */
  refPrefix: string;
  now?: () => Date;
}

interface AuthorizationRow {
  ref: string;
  payment_id: string;
  currency: string;
  authorized: number;
  captured: number;
  refunded: number;
  voided: number;
}

/**
 * Test amounts decide the issuer's answer, as sandbox banks do: the last two digits of the minor
 * amount 51 → insufficient funds, 05 → do not honor, 59 → suspected fraud. Anything else is approved.
 */
function issuerAnswer(amountMinor: number): LedgerDecline | undefined {
  const cents = amountMinor % 100;
  if (cents === 51) return 'insufficient-funds';
  if (cents === 5) return 'do-not-honor';
  if (cents === 59) return 'suspected-fraud';
  return undefined;
}

export class PaymentLedger {
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly refPrefix: string;

  constructor(options: LedgerOptions) {
    this.db = new Database(options.path);
    this.now = options.now ?? (() => new Date());
    this.refPrefix = options.refPrefix;
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS requests (
        key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS authorizations (
        ref TEXT PRIMARY KEY, payment_id TEXT NOT NULL, merchant_id TEXT NOT NULL, customer_id TEXT NOT NULL,
        currency TEXT NOT NULL, authorized INTEGER NOT NULL, captured INTEGER NOT NULL DEFAULT 0,
        refunded INTEGER NOT NULL DEFAULT 0, voided INTEGER NOT NULL DEFAULT 0, reference TEXT NOT NULL,
        created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS settlements (
        id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, payment_id TEXT NOT NULL, ref TEXT NOT NULL,
        operation TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, settled_at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS settlements_day ON settlements (day, id);
    `);
  }

  /**
   * Runs one request under its key. `replayed` says the answer is the stored one of an earlier
   * call with the same key (nothing moved this time).
   */
  execute(key: string, request: LedgerRequest): { result: LedgerResult; replayed: boolean } {
    const fingerprint = JSON.stringify(request);
    const run = this.db.transaction((): { result: LedgerResult; replayed: boolean } => {
      const seen = this.db.prepare('SELECT fingerprint, result FROM requests WHERE key = ?').get(key) as
        | { fingerprint: string; result: string }
        | undefined;
      if (seen) {
        if (seen.fingerprint !== fingerprint) throw new RequestKeyConflict(key);
        return { result: JSON.parse(seen.result) as LedgerResult, replayed: true };
      }
      const at = this.now().toISOString();
      const result = this.apply(request, at);
      this.db
        .prepare('INSERT INTO requests (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)')
        .run(key, fingerprint, JSON.stringify(result), at);
      return { result, replayed: false };
    });
    return run.immediate();
  }

  /** The stored answer for a request key, or undefined when the ledger never committed it. */
  status(key: string): LedgerResult | undefined {
    const row = this.db.prepare('SELECT result FROM requests WHERE key = ?').get(key) as
      | { result: string }
      | undefined;
    return row ? (JSON.parse(row.result) as LedgerResult) : undefined;
  }

  /** Captures and refunds settled on one UTC day (`YYYY-MM-DD`), in the order they happened. */
  settlement(day: string): SettledLine[] {
    const rows = this.db
      .prepare(
        'SELECT payment_id, ref, operation, amount, currency, settled_at FROM settlements WHERE day = ? ORDER BY id',
      )
      .all(day) as {
      payment_id: string;
      ref: string;
      operation: 'capture' | 'refund';
      amount: number;
      currency: string;
      settled_at: string;
    }[];
    return rows.map((r) => ({
      paymentId: r.payment_id,
      ref: r.ref,
      operation: r.operation,
      amountMinor: r.amount,
      currency: r.currency,
      settledAt: r.settled_at,
    }));
  }

  close(): void {
    this.db.close();
  }

  private apply(request: LedgerRequest, at: string): LedgerResult {
    const decline = (ref: string | null, why: LedgerDecline, reason: string): LedgerResult => ({
      approved: false,
      operation: request.operation,
      paymentId: request.paymentId,
      ref,
      decline: why,
      reason,
      at,
    });
    if (request.operation === 'authorize') {
      if (request.amountMinor <= 0) return decline(null, 'invalid-amount', 'amount must be positive');
      const issuer = issuerAnswer(request.amountMinor);
      if (issuer) return decline(null, issuer, `issuer answered ${issuer}`);
      const ref = `${this.refPrefix}${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      this.db
        .prepare(
          `INSERT INTO authorizations (ref, payment_id, merchant_id, customer_id, currency, authorized, reference, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          ref,
          request.paymentId,
          request.merchantId,
          request.customerId,
          request.currency,
          request.amountMinor,
          request.reference,
          at,
        );
      return { approved: true, operation: 'authorize', paymentId: request.paymentId, ref, at };
    }
    const auth = this.db.prepare('SELECT * FROM authorizations WHERE ref = ?').get(request.ref) as
      | AuthorizationRow
      | undefined;
    if (!auth || auth.payment_id !== request.paymentId) {
      return decline(
        request.ref,
        'no-such-authorization',
        `no authorization ${request.ref} for this payment`,
      );
    }
    const approved: LedgerResult = {
      approved: true,
      operation: request.operation,
      paymentId: request.paymentId,
      ref: auth.ref,
      at,
    };
    if (request.operation === 'void') {
      if (auth.voided) return decline(auth.ref, 'already-voided', 'authorization already voided');
      if (auth.captured > 0) return decline(auth.ref, 'already-captured', 'authorization already captured');
      this.db.prepare('UPDATE authorizations SET voided = 1 WHERE ref = ?').run(auth.ref);
      return approved;
    }
    if (request.amountMinor <= 0 || request.currency !== auth.currency) {
      return decline(auth.ref, 'invalid-amount', `amount must be positive and in ${auth.currency}`);
    }
    if (request.operation === 'capture') {
      if (auth.voided) return decline(auth.ref, 'already-voided', 'authorization already voided');
      if (auth.captured + request.amountMinor > auth.authorized) {
        return decline(
          auth.ref,
          'exceeds-authorized',
          `capture of ${request.amountMinor} exceeds the ${auth.authorized - auth.captured} left authorized`,
        );
      }
      this.db
        .prepare('UPDATE authorizations SET captured = captured + ? WHERE ref = ?')
        .run(request.amountMinor, auth.ref);
    } else {
      if (auth.captured === 0)
        return decline(auth.ref, 'no-such-authorization', 'nothing captured to refund');
      if (auth.refunded + request.amountMinor > auth.captured) {
        return decline(
          auth.ref,
          'exceeds-authorized',
          `refund of ${request.amountMinor} exceeds the ${auth.captured - auth.refunded} captured and not refunded`,
        );
      }
      this.db
        .prepare('UPDATE authorizations SET refunded = refunded + ? WHERE ref = ?')
        .run(request.amountMinor, auth.ref);
    }
    this.db
      .prepare(
        'INSERT INTO settlements (day, payment_id, ref, operation, amount, currency, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        at.slice(0, 10),
        request.paymentId,
        auth.ref,
        request.operation,
        request.amountMinor,
        auth.currency,
        at,
      );
    return approved;
  }
}
