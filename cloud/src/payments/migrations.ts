import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const tables: Migration = {
  async up(db: Kysely<unknown>) {
    // The payments read model, written in the transaction that appends the payment's events.
    await sql`CREATE TABLE payments (
      payment_id text PRIMARY KEY,
      order_id text NOT NULL,
      merchant_id text NOT NULL,
      customer_id text NOT NULL,
      provider text NOT NULL,
      status text NOT NULL,
      currency text NOT NULL,
      authorized_minor bigint NOT NULL DEFAULT 0,
      captured_minor bigint NOT NULL DEFAULT 0,
      refunded_minor bigint NOT NULL DEFAULT 0,
      provider_ref text,
      failure_code text,
      failure_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX payments_customer ON payments (customer_id, created_at)`.execute(db);
    await sql`CREATE INDEX payments_order ON payments (order_id)`.execute(db);
    // One row per provider call, inserted before the call: its key is the provider's idempotency
    // key, so a process that died mid-call finds it and asks the provider's status first.
    await sql`CREATE TABLE payment_attempts (
      idempotency_key text PRIMARY KEY,
      payment_id text NOT NULL,
      operation text NOT NULL,
      provider text NOT NULL,
      amount_minor bigint NOT NULL,
      currency text NOT NULL,
      request jsonb NOT NULL,
      state text NOT NULL DEFAULT 'pending',
      outcome jsonb,
      calls integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX payment_attempts_pending ON payment_attempts (updated_at) WHERE state = 'pending'`.execute(
      db,
    );
    await sql`CREATE TABLE payment_notifications (
      provider text NOT NULL,
      notification_id text NOT NULL,
      payment_id text NOT NULL,
      notification jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      processed_at timestamptz,
      result text,
      PRIMARY KEY (provider, notification_id)
    )`.execute(db);
    await sql`CREATE INDEX payment_notifications_open ON payment_notifications (received_at) WHERE processed_at IS NULL`.execute(
      db,
    );
    await sql`CREATE TABLE payment_flags (
      key text PRIMARY KEY,
      config jsonb NOT NULL,
      updated_by text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE TABLE payment_reconciliations (
      day text NOT NULL,
      provider text NOT NULL,
      lines integer NOT NULL,
      matched integer NOT NULL,
      findings integer NOT NULL,
      ran_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (day, provider)
    )`.execute(db);
    await sql`CREATE TABLE payment_findings (
      day text NOT NULL,
      provider text NOT NULL,
      payment_id text NOT NULL,
      operation text NOT NULL,
      kind text NOT NULL,
      expected_minor bigint,
      settled_minor bigint,
      detail text NOT NULL,
      found_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (day, provider, payment_id, operation, kind)
    )`.execute(db);
  },
};

const movements: Migration = {
  async up(db: Kysely<unknown>) {
    // Every capture and refund as we recorded it, by the provider's day: what reconciliation
    // matches the provider's settlement report against.
    await sql`CREATE TABLE payment_movements (
      event_id text PRIMARY KEY,
      payment_id text NOT NULL,
      provider text NOT NULL,
      provider_ref text NOT NULL,
      operation text NOT NULL,
      amount_minor bigint NOT NULL,
      currency text NOT NULL,
      day text NOT NULL,
      at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX payment_movements_day ON payment_movements (day, provider)`.execute(db);
  },
};

/** The payments module's tables, migrated as the component `payments`. */
export function migratePayments(database: Database): Promise<string[]> {
  return migrate(database, 'payments', { '0001_tables': tables, '0002_movements': movements });
}
