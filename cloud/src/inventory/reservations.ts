import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@bitv/shared';
import { outboxCommitted, queueOutbox } from '@bitv/shared/event-store';
import { createEvent, reservationChangedV1, topics } from '@bitv/shared/events';
import { sql } from 'kysely';
import type { CloudDb } from '../db/index.js';
import { iso } from '../db/time.js';
import { eventSource } from '../events.js';

export interface Reservation {
  id: string;
  sku: string;
  quantity: number;
  reference: string;
  /**
   * active: held until `expiresAt`; committed: its order is confirmed, held until picked or
   * cancelled and never lapsed; consumed: picked (the units left the shelf, so on hand is lower
   * instead); released, expired: no longer held.
   */
  status: 'active' | 'committed' | 'consumed' | 'released' | 'expired';
  expiresAt: string;
  /** The user who reserved (for a partner API key, the key's owner); null when not known. */
  ownerId: string | null;
}

/** Whose reservations a caller may touch: one owner's only, or (undefined) every one. */
export type OwnerScope = string | undefined;

/** Units of a SKU held by active, unexpired reservations and by committed ones (whatever their expiry). */
export async function reservedUnits(db: CloudDb, sku: string): Promise<number> {
  const row = await db
    .selectFrom('reservations')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('quantity'), sql<string>`0`).as('n'))
    .where('sku', '=', sku)
    .where(holdsUnits(new Date()))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Whether a reservation row holds its units at `now`: committed, or active and not yet lapsed. */
function holdsUnits(now: Date) {
  return sql<boolean>`(status = 'committed' OR (status = 'active' AND expires_at > ${now}))`;
}

/** One hold of `reserveAll`: units of a SKU under a reference (an order line's, say). */
export interface HoldRequest {
  sku: string;
  quantity: number;
  reference: string;
}

/**
 * Reservations hold units of a SKU for an order until released or lapsed; available = on hand
 * (sum of the SKU's bin counts, from shelf weight) minus what active reservations hold.
 */
export class Reservations {
  constructor(private readonly db: CloudDb) {}

  /** Holds units of a SKU; idempotent on `reference` (a retried call gets the same reservation). */
  async reserve(input: {
    sku: string;
    quantity: number;
    reference: string;
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<Reservation> {
    const { ttlSeconds, ownerId, ...hold } = input;
    const [reservation] = await this.reserveAll({ holds: [hold], ttlSeconds, ownerId: ownerId ?? null });
    return reservation as Reservation;
  }

  /**
   * Holds units for every request in one transaction, all or nothing: a shortfall (ConflictError)
   * or an unknown SKU (NotFoundError) reserves none of them, and `details.reference` names the
   * request that failed. Idempotent per reference: a retry (after a crash, say)
   * gets the holds it made before and never a second one. Returns the holds in request order.
   */
  async reserveAll(input: {
    holds: readonly HoldRequest[];
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<Reservation[]> {
    const ownerId = input.ownerId ?? null;
    if (input.holds.length === 0) return [];
    const outcome = await this.db.transaction().execute(async (trx) => {
      const found = await trx
        .selectFrom('reservations')
        .selectAll()
        .where(
          'reference',
          'in',
          input.holds.map((h) => h.reference),
        )
        .execute();
      const existing = new Map(found.map((r) => [r.reference, r]));
      const made = new Map<string, Reservation>();
      for (const h of input.holds) {
        const row = existing.get(h.reference);
        if (row) made.set(h.reference, retried(row, h, ownerId));
      }
      const missing = input.holds.filter((h) => !made.has(h.reference));
      if (missing.length === 0) return { holds: made, created: [] };
      const asked = new Map<string, { units: number; reference: string }>();
      for (const h of missing) {
        const a = asked.get(h.sku);
        asked.set(h.sku, { units: (a?.units ?? 0) + h.quantity, reference: a?.reference ?? h.reference });
      }
      const skus = [...asked.keys()];
      // The same per-SKU locks as `reserve`, taken in one order (their keys sorted), so two
      // orders sharing SKUs queue behind each other instead of deadlocking.
      await sql`SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(s) AS k
        FROM (VALUES ${sql.join(skus.map((s) => sql`(${s})`))}) AS v (s) ORDER BY k) AS keys`.execute(trx);
      const now = new Date();
      const { rows } = await sql<{ sku: string; on_hand: string; held: string }>`SELECT p.sku,
          (SELECT coalesce(sum(count), 0) FROM bins WHERE bins.sku = p.sku) AS on_hand,
          (SELECT coalesce(sum(quantity), 0) FROM reservations
            WHERE reservations.sku = p.sku AND ${holdsUnits(now)}) AS held
        FROM products p WHERE p.sku IN (${sql.join(skus)})`.execute(trx);
      const stock = new Map(rows.map((r) => [r.sku, Number(r.on_hand) - Number(r.held)]));
      for (const [sku, a] of asked) {
        const available = stock.get(sku);
        if (available === undefined) {
          throw new NotFoundError(`product ${sku} not found`, { details: { sku, reference: a.reference } });
        }
        if (available < a.units) {
          throw new ConflictError(`only ${available} of ${sku} available, ${a.units} asked`, {
            details: { available, sku, reference: a.reference },
          });
        }
      }
      const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
      const inserted = await trx
        .insertInto('reservations')
        .values(
          missing.map((h) => ({
            id: randomUUID(),
            sku: h.sku,
            quantity: h.quantity,
            reference: h.reference,
            status: 'active' as const,
            expires_at: expiresAt,
            owner_id: ownerId,
          })),
        )
        .returningAll()
        .execute();
      const created = inserted.map(toReservation);
      for (const r of created) made.set(r.reference, r);
      await queueReservations(trx, created);
      return { holds: made, created };
    });
    if (outcome.created.length > 0) outboxCommitted(this.db);
    return input.holds.map((h) => outcome.holds.get(h.reference) as Reservation);
  }

  /** One reservation; another owner's is "not found", like one that does not exist. */
  async get(id: string, owner?: OwnerScope): Promise<Reservation> {
    let q = this.db.selectFrom('reservations').selectAll().where('id', '=', id);
    if (owner !== undefined) q = q.where('owner_id', '=', owner);
    const row = await q.executeTakeFirst();
    if (!row) throw new NotFoundError(`reservation ${id} not found`);
    return toReservation(row);
  }

  /** The newest reservations first (at most `limit`), of one owner or of everyone. */
  async list(filter: {
    owner?: OwnerScope;
    status?: Reservation['status'];
    limit?: number;
  }): Promise<Reservation[]> {
    let q = this.db
      .selectFrom('reservations')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(filter.limit ?? 200);
    if (filter.owner !== undefined) q = q.where('owner_id', '=', filter.owner);
    if (filter.status) q = q.where('status', '=', filter.status);
    return (await q.execute()).map(toReservation);
  }

  /** Releases an active or committed hold (a cancelled order's); anything else is left as it is. */
  async release(id: string, owner?: OwnerScope): Promise<Reservation> {
    await this.get(id, owner);
    const [released] = await this.move([id], ['active', 'committed'], 'released');
    if (released) return released;
    const row = await this.db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`reservation ${id} not found`);
    return toReservation(row);
  }

  /**
   * The holds of a confirmed order: active ones become committed, which the expiry sweep never
   * lapses, so a confirmed order keeps its units however long picking takes. Idempotent (a
   * resumed checkout commits again); returns the holds it moved.
   */
  async commit(ids: readonly string[]): Promise<Reservation[]> {
    return this.move(ids, ['active'], 'committed');
  }

  /** The holds of a picked order: the units left the shelf (on hand is lower), so they are no longer held. */
  async consume(ids: readonly string[]): Promise<Reservation[]> {
    return this.move(ids, ['active', 'committed'], 'consumed');
  }

  private async move(
    ids: readonly string[],
    from: readonly Reservation['status'][],
    to: Reservation['status'],
  ): Promise<Reservation[]> {
    if (ids.length === 0) return [];
    const moved = await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .updateTable('reservations')
        .set({ status: to })
        .where('id', 'in', [...ids])
        .where('status', 'in', [...from])
        .returningAll()
        .execute();
      const changed = rows.map(toReservation);
      await queueReservations(trx, changed);
      return changed;
    });
    if (moved.length > 0) outboxCommitted(this.db);
    return moved;
  }

  async expireReservations(now = new Date()): Promise<number> {
    const expired = await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .updateTable('reservations')
        .set({ status: 'expired' })
        .where('status', '=', 'active')
        .where('expires_at', '<=', now)
        .returningAll()
        .execute();
      await queueReservations(trx, rows.map(toReservation));
      return rows.length;
    });
    if (expired > 0) outboxCommitted(this.db);
    return expired;
  }
}

/**
 * `bv.inventory` reservation events, queued in the transactional outbox in the transaction that
 * changes the reservations: published by the relay after the commit, never lost to a crash in
 * between.
 */
async function queueReservations(trx: CloudDb, reservations: readonly Reservation[]): Promise<void> {
  if (reservations.length === 0) return;
  await queueOutbox(
    trx,
    topics.inventory,
    reservations.map((r) =>
      createEvent(reservationChangedV1, {
        source: eventSource,
        key: r.sku,
        data: {
          reservationId: r.id,
          sku: r.sku,
          quantity: r.quantity,
          reference: r.reference,
          status: r.status,
        },
      }),
    ),
  );
}

/**
 * A reserve retried on a reference that already holds: the same hold back, or ConflictError when
 * the reference holds something else. Another owner's reference is not theirs to retry (nor to
 * learn about beyond "taken").
 */
function retried(
  existing: Parameters<typeof toReservation>[0],
  request: HoldRequest,
  ownerId: string | null,
): Reservation {
  if (existing.owner_id !== ownerId) {
    throw new ConflictError(`reference ${request.reference} is already used`, {
      details: { reference: request.reference },
    });
  }
  if (existing.sku !== request.sku || existing.quantity !== request.quantity) {
    throw new ConflictError(
      `reference ${request.reference} already reserves ${existing.quantity} of ${existing.sku}`,
      { details: { reference: request.reference } },
    );
  }
  return toReservation(existing);
}

function toReservation(r: {
  id: string;
  sku: string;
  quantity: number;
  reference: string;
  status: Reservation['status'];
  expires_at: Date;
  owner_id: string | null;
}): Reservation {
  return {
    id: r.id,
    sku: r.sku,
    quantity: r.quantity,
    reference: r.reference,
    status: r.status,
    expiresAt: iso(r.expires_at),
    ownerId: r.owner_id,
  };
}
