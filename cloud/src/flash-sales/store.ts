import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@bitv/shared';
import type { Database } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';
import type { FlashSale, NewSale } from './sale.js';

interface SaleRow {
  id: string;
  sku: string;
  site_id: string;
  title: string;
  starts_at: Date | string;
  ends_at: Date | string;
  quantity: number;
  per_customer_limit: number;
  claimed: number;
  created_by: string;
  created_at: Date | string;
}

function saleOf(r: SaleRow): FlashSale {
  return {
    id: r.id,
    sku: r.sku,
    siteId: r.site_id,
    title: r.title,
    startsAt: new Date(r.starts_at).toISOString(),
    endsAt: new Date(r.ends_at).toISOString(),
    quantity: Number(r.quantity),
    perCustomerLimit: Number(r.per_customer_limit),
    claimed: Number(r.claimed),
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export type ClaimRefusal = 'not_live' | 'sold_out' | 'limit_reached';
export type ClaimOutcome = { ok: true; claimId: string } | { ok: false; reason: ClaimRefusal };

/** Thrown inside the claim's transaction to roll it back; never leaves this file. */
class Refused extends Error {
  constructor(readonly reason: ClaimRefusal) {
    super(reason);
  }
}

export interface ClaimCounts {
  placing: { claims: number; units: number };
  ordered: { claims: number; units: number };
  released: { claims: number; units: number };
  /** The most units any one customer holds. */
  maxPerCustomer: number;
}

/**
 * Sales and their claims. A claim takes units of a sale for one customer before the order is
 * placed: in one transaction, the sale's row (locked by the UPDATE, so buyers of one sale queue
 * there) gains the units only while the sale is live and they fit; the buyer's row gains them only
 * within the per-customer limit; otherwise nothing is written.
 */
export class FlashSaleStore {
  private readonly db: Kysely<unknown>;

  constructor(database: Database) {
    this.db = database.kysely;
  }

  async create(input: NewSale & { title: string }, by: string): Promise<FlashSale> {
    const { rows } = await sql<SaleRow>`INSERT INTO flash_sales
      (id, sku, site_id, title, starts_at, ends_at, quantity, per_customer_limit, created_by)
      VALUES (${randomUUID()}, ${input.sku}, ${input.siteId}, ${input.title}, ${input.startsAt}, ${input.endsAt},
              ${input.quantity}, ${input.perCustomerLimit}, ${by})
      RETURNING *`.execute(this.db);
    return saleOf(rows[0] as SaleRow);
  }

  async get(id: string): Promise<FlashSale> {
    const { rows } = await sql<SaleRow>`SELECT * FROM flash_sales WHERE id = ${id}`.execute(this.db);
    if (!rows[0]) throw new NotFoundError(`no flash sale ${id}`);
    return saleOf(rows[0]);
  }

  /** Sales not ended more than a day ago, soonest end first, then the rest newest first. */
  async list(limit: number): Promise<FlashSale[]> {
    const { rows } = await sql<SaleRow>`SELECT * FROM flash_sales
      ORDER BY (ends_at < now()), CASE WHEN ends_at >= now() THEN ends_at END, ends_at DESC LIMIT ${limit}`.execute(
      this.db,
    );
    return rows.map(saleOf);
  }

  async claim(saleId: string, customerId: string, quantity: number): Promise<ClaimOutcome> {
    try {
      const claimId = await this.db.transaction().execute(async (trx) => {
        const sale = await sql<{
          per_customer_limit: number;
        }>`UPDATE flash_sales SET claimed = claimed + ${quantity}
          WHERE id = ${saleId} AND now() >= starts_at AND now() < ends_at
            AND claimed + ${quantity} <= quantity AND ${quantity} <= per_customer_limit
          RETURNING per_customer_limit`.execute(trx);
        if (!sale.rows[0]) throw new Refused(await this.whyNot(trx, saleId, quantity));
        const limit = Number(sale.rows[0].per_customer_limit);
        // ON CONFLICT DO UPDATE locks the buyer's row and checks its newest units: a customer's
        // concurrent claims cannot both pass the limit.
        const buyer = await sql`INSERT INTO flash_buyers (sale_id, customer_id, units)
          VALUES (${saleId}, ${customerId}, ${quantity})
          ON CONFLICT (sale_id, customer_id) DO UPDATE SET units = flash_buyers.units + excluded.units
          WHERE flash_buyers.units + excluded.units <= ${limit}
          RETURNING units`.execute(trx);
        if (buyer.rows.length === 0) throw new Refused('limit_reached');
        const id = randomUUID();
        await sql`INSERT INTO flash_claims (id, sale_id, customer_id, quantity, status)
          VALUES (${id}, ${saleId}, ${customerId}, ${quantity}, 'placing')`.execute(trx);
        return id;
      });
      return { ok: true, claimId };
    } catch (error) {
      if (error instanceof Refused) return { ok: false, reason: error.reason };
      throw error;
    }
  }

  private async whyNot(trx: Kysely<unknown>, saleId: string, quantity: number): Promise<ClaimRefusal> {
    const { rows } = await sql<{ live: boolean; fits: boolean; within: boolean }>`SELECT
        now() >= starts_at AND now() < ends_at AS live,
        claimed + ${quantity} <= quantity AS fits,
        ${quantity} <= per_customer_limit AS within
      FROM flash_sales WHERE id = ${saleId}`.execute(trx);
    const row = rows[0];
    if (!row) throw new NotFoundError(`no flash sale ${saleId}`);
    if (!row.live) return 'not_live';
    if (!row.within) return 'limit_reached';
    return 'sold_out';
  }

  /** The claim's order was placed. */
  async linkOrder(claimId: string, orderId: string): Promise<void> {
    await sql`UPDATE flash_claims SET status = 'ordered', order_id = ${orderId}, updated_at = now()
      WHERE id = ${claimId} AND status = 'placing'`.execute(this.db);
  }

  /**
   * Gives a claim's units back to the sale and its buyer (idempotent: a released claim stays
   * released). Returns the sale id when it released something.
   */
  async release(by: { claimId: string } | { orderId: string }, reason: string): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const where = 'claimId' in by ? sql`id = ${by.claimId}` : sql`order_id = ${by.orderId}`;
      const { rows } = await sql<{
        sale_id: string;
        customer_id: string;
        quantity: number;
      }>`UPDATE flash_claims
        SET status = 'released', release_reason = ${reason}, updated_at = now()
        WHERE ${where} AND status <> 'released'
        RETURNING sale_id, customer_id, quantity`.execute(trx);
      const claim = rows[0];
      if (!claim) return undefined;
      await sql`UPDATE flash_sales SET claimed = claimed - ${claim.quantity} WHERE id = ${claim.sale_id}`.execute(
        trx,
      );
      await sql`UPDATE flash_buyers SET units = units - ${claim.quantity}
        WHERE sale_id = ${claim.sale_id} AND customer_id = ${claim.customer_id}`.execute(trx);
      return claim.sale_id;
    });
  }

  /** Whether a customer has a claim whose order is being placed right now (its id not yet linked). */
  async placingFor(customerId: string): Promise<boolean> {
    const { rows } =
      await sql`SELECT 1 FROM flash_claims WHERE customer_id = ${customerId} AND status = 'placing'
      AND created_at > now() - interval '5 minutes' LIMIT 1`.execute(this.db);
    return rows.length > 0;
  }

  async counts(saleId: string): Promise<ClaimCounts> {
    const { rows } = await sql<{ status: string; claims: string; units: string }>`SELECT status,
        count(*)::text AS claims, coalesce(sum(quantity), 0)::text AS units
      FROM flash_claims WHERE sale_id = ${saleId} GROUP BY status`.execute(this.db);
    const { rows: top } = await sql<{
      n: number | null;
    }>`SELECT max(units) AS n FROM flash_buyers WHERE sale_id = ${saleId}`.execute(this.db);
    const of = (status: string) => {
      const r = rows.find((x) => x.status === status);
      return { claims: Number(r?.claims ?? 0), units: Number(r?.units ?? 0) };
    };
    return {
      placing: of('placing'),
      ordered: of('ordered'),
      released: of('released'),
      maxPerCustomer: Number(top[0]?.n ?? 0),
    };
  }
}
