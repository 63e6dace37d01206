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
    .where((eb) =>
      eb.or([
        eb('status', '=', 'committed'),
        eb.and([eb('status', '=', 'active'), eb('expires_at', '>', new Date())]),
      ]),
    )
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Reservations hold units of a SKU for an order until released or lapsed; available = on hand
 * (sum of the SKU's bin counts, from shelf weight) minus what active reservations hold.
 */
export class Reservations {
  constructor(private readonly db: CloudDb) {}

  private async productExists(sku: string): Promise<void> {
    const row = await this.db.selectFrom('products').select('sku').where('sku', '=', sku).executeTakeFirst();
    if (!row) throw new NotFoundError(`product ${sku} not found`);
  }

  /** Holds units of a SKU; idempotent on `reference` (a retried call gets the same reservation). */
  async reserve(input: {
    sku: string;
    quantity: number;
    reference: string;
    ttlSeconds: number;
    ownerId?: string | null;
  }): Promise<Reservation> {
    const ownerId = input.ownerId ?? null;
    await this.productExists(input.sku);
    const outcome = await this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('reservations')
        .selectAll()
        .where('reference', '=', input.reference)
        .executeTakeFirst();
      if (existing) {
        // Another owner's reference is not theirs to retry (nor to learn about beyond "taken").
        if (existing.owner_id !== ownerId) {
          throw new ConflictError(`reference ${input.reference} is already used`);
        }
        if (existing.sku !== input.sku || existing.quantity !== input.quantity) {
          throw new ConflictError(
            `reference ${input.reference} already reserves ${existing.quantity} of ${existing.sku}`,
          );
        }
        return { reservation: toReservation(existing), created: false };
      }
      // Serialise reservations of one SKU so two callers cannot both take the last units.
      await sql`SELECT pg_advisory_xact_lock(hashtext(${input.sku}))`.execute(trx);
      const onHand = await trx
        .selectFrom('bins')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('count'), sql<string>`0`).as('n'))
        .where('sku', '=', input.sku)
        .executeTakeFirstOrThrow();
      const available = Number(onHand.n) - (await reservedUnits(trx, input.sku));
      if (available < input.quantity) {
        throw new ConflictError(`only ${available} of ${input.sku} available, ${input.quantity} asked`, {
          details: { available },
        });
      }
      const row = await trx
        .insertInto('reservations')
        .values({
          id: randomUUID(),
          sku: input.sku,
          quantity: input.quantity,
          reference: input.reference,
          status: 'active',
          expires_at: new Date(Date.now() + input.ttlSeconds * 1000),
          owner_id: ownerId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const reservation = toReservation(row);
      await queueReservations(trx, [reservation]);
      return { reservation, created: true };
    });
    if (outcome.created) outboxCommitted(this.db);
    return outcome.reservation;
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
