import type { Database } from '@bitv/shared/db';
import type { EventStoreTransaction } from '@bitv/shared/event-store';
import { sql } from 'kysely';
import type { PaymentRef } from './model.js';
import type { Operation, ProviderOutcome } from './provider.js';

/** What a later process needs to repeat or record a call it did not see finish. */
export interface AttemptRequest {
  ref: PaymentRef;
  /** The provider's id of the authorization (follow-ups). */
  providerRef?: string;
}

/** One provider call, stored before it is made; `key` is the provider's idempotency key. */
export interface Attempt {
  key: string;
  paymentId: string;
  operation: Operation;
  provider: string;
  amountMinor: number;
  currency: string;
  request: AttemptRequest;
  state: 'pending' | 'approved' | 'declined' | 'error';
  outcome?: ProviderOutcome | { outcome: 'error'; message: string };
  /** Calls made so far: above 0, a timeout or crash may have left one committed at the provider. */
  calls: number;
  createdAt: string;
}

interface AttemptRow {
  idempotency_key: string;
  payment_id: string;
  operation: Operation;
  provider: string;
  amount_minor: string | number;
  currency: string;
  request: AttemptRequest | string;
  state: Attempt['state'];
  outcome: Attempt['outcome'] | string | null;
  calls: number;
  created_at: Date | string;
}

function toAttempt(r: AttemptRow): Attempt {
  const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
  return {
    key: r.idempotency_key,
    paymentId: r.payment_id,
    operation: r.operation,
    provider: r.provider,
    amountMinor: Number(r.amount_minor),
    currency: r.currency,
    request: json(r.request),
    state: r.state,
    ...(r.outcome ? { outcome: json(r.outcome) } : {}),
    calls: r.calls,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export class Attempts {
  constructor(private readonly database: Database) {}

  async get(key: string): Promise<Attempt | undefined> {
    const { rows } =
      await sql<AttemptRow>`SELECT * FROM payment_attempts WHERE idempotency_key = ${key}`.execute(
        this.database.kysely,
      );
    return rows[0] ? toAttempt(rows[0]) : undefined;
  }

  /** Stores the attempt unless its key exists; returns the stored one (the first writer's). */
  async create(a: Omit<Attempt, 'state' | 'calls' | 'createdAt' | 'outcome'>): Promise<Attempt> {
    await sql`INSERT INTO payment_attempts (idempotency_key, payment_id, operation, provider, amount_minor, currency, request)
      VALUES (${a.key}, ${a.paymentId}, ${a.operation}, ${a.provider}, ${a.amountMinor}, ${a.currency},
        ${JSON.stringify(a.request)}::jsonb)
      ON CONFLICT (idempotency_key) DO NOTHING`.execute(this.database.kysely);
    return (await this.get(a.key)) as Attempt;
  }

  /** Counts a call before it is made, so a process that dies during it asks `status` first next time. */
  async countCall(key: string): Promise<void> {
    await sql`UPDATE payment_attempts SET calls = calls + 1, updated_at = now()
      WHERE idempotency_key = ${key}`.execute(this.database.kysely);
  }

  /**
   * Closes a pending attempt inside the transaction that records its outcome on the payment;
   * false when another process closed it first (its events are already appended).
   */
  async close(
    tx: EventStoreTransaction,
    key: string,
    state: Attempt['state'],
    outcome: Attempt['outcome'],
  ): Promise<boolean> {
    const result =
      await sql`UPDATE payment_attempts SET state = ${state}, outcome = ${JSON.stringify(outcome)}::jsonb,
        updated_at = now()
      WHERE idempotency_key = ${key} AND state = 'pending'`.execute(tx.sql);
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** Pending attempts not touched for `idleMs` (their process died or gave up): resolved by a timer. */
  async stale(idleMs: number, limit: number): Promise<Attempt[]> {
    const { rows } = await sql<AttemptRow>`SELECT * FROM payment_attempts
      WHERE state = 'pending' AND updated_at < now() - ${idleMs} * interval '1 millisecond'
      ORDER BY updated_at LIMIT ${limit}`.execute(this.database.kysely);
    return rows.map(toAttempt);
  }

  async forPayment(paymentId: string): Promise<Attempt[]> {
    const { rows } = await sql<AttemptRow>`SELECT * FROM payment_attempts WHERE payment_id = ${paymentId}
      ORDER BY created_at`.execute(this.database.kysely);
    return rows.map(toAttempt);
  }
}
