import type { Database } from '@bitv/shared/db';
import { sql } from 'kysely';

export interface PaymentRow {
  paymentId: string;
  orderId: string;
  merchantId: string;
  customerId: string;
  provider: string;
  status: string;
  currency: string;
  authorizedMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  providerRef: string | null;
  failure: { code: string; reason: string } | null;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  payment_id: string;
  order_id: string;
  merchant_id: string;
  customer_id: string;
  provider: string;
  status: string;
  currency: string;
  authorized_minor: string | number;
  captured_minor: string | number;
  refunded_minor: string | number;
  provider_ref: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

function toPayment(r: Row): PaymentRow {
  return {
    paymentId: r.payment_id,
    orderId: r.order_id,
    merchantId: r.merchant_id,
    customerId: r.customer_id,
    provider: r.provider,
    status: r.status,
    currency: r.currency,
    authorizedMinor: Number(r.authorized_minor),
    capturedMinor: Number(r.captured_minor),
    refundedMinor: Number(r.refunded_minor),
    providerRef: r.provider_ref,
    failure: r.failure_code ? { code: r.failure_code, reason: r.failure_reason ?? '' } : null,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** The `payments` rows (written with the events), newest first, filtered by site and status. */
export class PaymentReads {
  constructor(private readonly database: Database) {}

  async list(filter: { sites: string[] | null; status?: string; limit: number }): Promise<PaymentRow[]> {
    const sites = filter.sites;
    const { rows } = await sql<Row>`SELECT * FROM payments
      WHERE (${filter.status ?? null}::text IS NULL OR status = ${filter.status ?? null})
        AND (${sites === null} OR merchant_id = ANY(${sites ?? []}::text[]))
      ORDER BY created_at DESC, payment_id LIMIT ${filter.limit}`.execute(this.database.kysely);
    return rows.map(toPayment);
  }

  async get(paymentId: string): Promise<PaymentRow | undefined> {
    const { rows } = await sql<Row>`SELECT * FROM payments WHERE payment_id = ${paymentId}`.execute(
      this.database.kysely,
    );
    return rows[0] ? toPayment(rows[0]) : undefined;
  }
}
