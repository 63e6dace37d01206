import { type Database, tables } from '@bitv/shared/db';
import { outboxCommitted, queueOutbox } from '@bitv/shared/event-store';
import { type BvEvent, topics } from '@bitv/shared/events';
import type { ColumnType, Kysely } from 'kysely';
import type { PickState, PickStatus } from './model.js';

interface FulfilmentTables {
  pick_lists: {
    id: string;
    order_id: string;
    site_id: string;
    status: PickStatus;
    state: ColumnType<PickState, string, string>;
    version: number;
    created_at: ColumnType<Date, Date | string | undefined, Date | string>;
    updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  };
}

export interface StoredPick {
  state: PickState;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Another writer changed the pick list first (another instance, or the other stock path). */
export class StalePickError extends Error {}

/**
 * Pick lists as rows holding the decider's state, written with an expected version (optimistic
 * concurrency), so two instances deciding on one list never both win. Each write queues its
 * `bv.fulfilment` events in the event store's outbox in the same transaction: they commit with
 * the row or not at all, and the outbox relay publishes them after the commit (a crash between
 * the two no longer loses them).
 */
export class PickStore {
  private readonly db: Kysely<FulfilmentTables>;

  constructor(private readonly database: Database) {
    this.db = tables<FulfilmentTables>(database);
  }

  async get(pickId: string): Promise<StoredPick | undefined> {
    const row = await this.db
      .selectFrom('pick_lists')
      .selectAll()
      .where('id', '=', pickId)
      .executeTakeFirst();
    return row ? toStored(row) : undefined;
  }

  async byOrder(orderId: string): Promise<StoredPick | undefined> {
    const row = await this.db
      .selectFrom('pick_lists')
      .selectAll()
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    return row ? toStored(row) : undefined;
  }

  /** The site's pick in progress, if any (at most one: a unique index). */
  async active(siteId: string): Promise<StoredPick | undefined> {
    const row = await this.db
      .selectFrom('pick_lists')
      .selectAll()
      .where('site_id', '=', siteId)
      .where('status', '=', 'picking')
      .executeTakeFirst();
    return row ? toStored(row) : undefined;
  }

  /** The site's oldest list waiting to be picked. */
  async nextOpen(siteId: string): Promise<StoredPick | undefined> {
    const row = await this.db
      .selectFrom('pick_lists')
      .selectAll()
      .where('site_id', '=', siteId)
      .where('status', '=', 'open')
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row ? toStored(row) : undefined;
  }

  async list(filter: { siteId?: string; status?: PickStatus; limit: number }): Promise<StoredPick[]> {
    const rows = await this.db
      .selectFrom('pick_lists')
      .selectAll()
      .$if(filter.siteId !== undefined, (q) => q.where('site_id', '=', filter.siteId as string))
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status as PickStatus))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
    return rows.map(toStored);
  }

  /** Inserts a new list; false when the order already has one (a redelivered confirmation). */
  async insert(state: PickState, events: readonly BvEvent[]): Promise<boolean> {
    const inserted = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('pick_lists')
        .values({
          id: state.pickId,
          order_id: state.orderId,
          site_id: state.siteId,
          status: state.status,
          state: JSON.stringify(state),
          version: 1,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      if (row) await queueOutbox<FulfilmentTables>(trx, topics.fulfilment, events);
      return row !== undefined;
    });
    if (inserted && events.length > 0) outboxCommitted(this.database);
    return inserted;
  }

  /**
   * Writes the next state if the row is still at `version`; throws `StalePickError` otherwise,
   * and also when another list of the site is already in progress (the unique index).
   */
  async update(state: PickState, version: number, events: readonly BvEvent[]): Promise<number> {
    try {
      const next = await this.db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('pick_lists')
          .set({
            status: state.status,
            state: JSON.stringify(state),
            version: version + 1,
            updated_at: new Date(),
          })
          .where('id', '=', state.pickId)
          .where('version', '=', version)
          .returning('version')
          .executeTakeFirst();
        if (!row) throw new StalePickError(`pick list ${state.pickId} changed meanwhile`);
        await queueOutbox<FulfilmentTables>(trx, topics.fulfilment, events);
        return row.version;
      });
      if (events.length > 0) outboxCommitted(this.database);
      return next;
    } catch (error) {
      if (isUniqueViolation(error))
        throw new StalePickError(`another pick of site ${state.siteId} is in progress`);
      throw error;
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

function toStored(row: {
  state: PickState;
  version: number;
  created_at: Date;
  updated_at: Date;
}): StoredPick {
  return {
    state: row.state,
    version: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
