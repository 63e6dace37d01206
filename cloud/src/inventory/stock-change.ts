import { randomUUID } from 'node:crypto';
import { outboxCommitted, queueOutbox } from '@bitv/shared/event-store';
import {
  type BvEvent,
  createEvent,
  type StockChanged,
  stockAlertV1,
  stockChangedV1,
  topics,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { CloudDb } from '../db/index.js';
import { eventSource } from '../events.js';
import type { LiveHub } from '../live/hub.js';
import type { StockFeed } from './stock-feed.js';

export interface CountChange {
  shelfId: string;
  bin: number;
  count: number;
  confidence: number;
  reason: StockChanged['reason'];
  weightG?: number;
  /** A new tare (cycle counts and adjustments re-align the scale with the counted truth). */
  tareG?: number;
  reading?: { edgeNodeId: string; deviceId: string; seq: number; time: string };
  actor?: string;
  note?: string;
}

export interface AppliedChange {
  event: StockChanged;
  readingTime?: string;
  alert?: { alertId: string; status: 'open' | 'cleared'; message: string; threshold: number };
}

/**
 * Writes one bin's new count, its movement record and any low-stock alert transition, inside the
 * caller's transaction (so a count, its reading watermark and its alert commit together).
 * Returns undefined when nothing changed.
 */
export async function applyCountChange(
  trx: CloudDb,
  change: CountChange,
): Promise<AppliedChange | undefined> {
  const bin = await trx
    .selectFrom('bins')
    .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
    .select(['bins.count', 'bins.sku', 'bins.low_stock_threshold', 'bins.tare_g', 'shelves.site_id'])
    .where('bins.shelf_id', '=', change.shelfId)
    .where('bins.bin', '=', change.bin)
    .forUpdate()
    .executeTakeFirst();
  if (!bin) return undefined;
  const tareChanged = change.tareG !== undefined && change.tareG !== bin.tare_g;
  if (bin.count === change.count && !tareChanged && change.reason === 'weight') {
    if (change.weightG !== undefined) {
      await trx
        .updateTable('bins')
        .set({ weight_g: change.weightG, confidence: change.confidence })
        .where('shelf_id', '=', change.shelfId)
        .where('bin', '=', change.bin)
        .execute();
    }
    return undefined;
  }
  await trx
    .updateTable('bins')
    .set({
      count: change.count,
      confidence: change.confidence,
      updated_at: new Date(),
      ...(change.weightG !== undefined ? { weight_g: change.weightG } : {}),
      ...(change.reading ? { weighed_at: change.reading.time } : {}),
      ...(change.tareG !== undefined ? { tare_g: change.tareG } : {}),
    })
    .where('shelf_id', '=', change.shelfId)
    .where('bin', '=', change.bin)
    .execute();
  await trx
    .insertInto('stock_movements')
    .values({
      shelf_id: change.shelfId,
      bin: change.bin,
      sku: bin.sku,
      reason: change.reason,
      previous_count: bin.count,
      count: change.count,
      confidence: change.confidence,
      reading_seq: change.reading?.seq ?? null,
      actor: change.actor ?? null,
      note: change.note ?? null,
    })
    .execute();
  const event: StockChanged = {
    siteId: bin.site_id,
    shelfId: change.shelfId,
    bin: change.bin,
    sku: bin.sku,
    previousCount: bin.count,
    count: change.count,
    confidence: change.confidence,
    reason: change.reason,
    ...(change.weightG !== undefined ? { weightG: change.weightG } : {}),
    ...(change.reading
      ? {
          reading: {
            edgeNodeId: change.reading.edgeNodeId,
            deviceId: change.reading.deviceId,
            seq: change.reading.seq,
          },
        }
      : {}),
    ...(change.actor ? { actor: change.actor } : {}),
  };
  const applied: AppliedChange = { event, ...(change.reading ? { readingTime: change.reading.time } : {}) };
  const threshold = bin.low_stock_threshold;
  if (threshold !== null) applied.alert = await lowStockTransition(trx, event, threshold);
  return applied;
}

async function lowStockTransition(
  trx: CloudDb,
  e: StockChanged,
  threshold: number,
): Promise<AppliedChange['alert']> {
  const low = e.count <= threshold;
  const open = await trx
    .selectFrom('alerts')
    .select(['id'])
    .where('shelf_id', '=', e.shelfId)
    .where('bin', '=', e.bin)
    .where('kind', '=', 'low_stock')
    .where('status', '=', 'open')
    .executeTakeFirst();
  if (low && !open) {
    const alertId = randomUUID();
    // The count moves on while the alert stays open, so the message names the threshold, not the count.
    const message = `${e.sku ?? 'bin'} running low (at or below ${threshold})`;
    await trx
      .insertInto('alerts')
      .values({
        id: alertId,
        site_id: e.siteId,
        shelf_id: e.shelfId,
        bin: e.bin,
        sku: e.sku,
        kind: 'low_stock',
        status: 'open',
        message,
        cleared_at: null,
      })
      .execute();
    return { alertId, status: 'open', message, threshold };
  }
  if (!low && open) {
    await trx
      .updateTable('alerts')
      .set({ status: 'cleared', cleared_at: new Date() })
      .where('id', '=', open.id)
      .execute();
    return {
      alertId: open.id,
      status: 'cleared',
      message: `${e.sku ?? 'bin'} restocked: ${e.count}`,
      threshold,
    };
  }
  return undefined;
}

/** `applyCountChange` with its `bv.inventory` events queued in the same transaction. */
export async function applyAndQueue(trx: CloudDb, change: CountChange): Promise<AppliedChange | undefined> {
  const applied = await applyCountChange(trx, change);
  if (applied) await queueInventoryEvents(trx, [applied]);
  return applied;
}

/**
 * The `bv.inventory` events of one commit's changes (stock changed, low-stock alert opened or
 * cleared), queued in the transactional outbox inside the transaction that applies the changes:
 * they commit with the counts or not at all, and the outbox relay publishes them after the commit
 * (at least once, in order per shelf), so a crash between the count and its publish no longer
 * loses the event.
 */
export async function queueInventoryEvents(trx: CloudDb, applied: readonly AppliedChange[]): Promise<void> {
  if (applied.length === 0) return;
  const events: BvEvent[] = [];
  for (const change of applied) {
    const e = change.event;
    events.push(createEvent(stockChangedV1, { source: eventSource, key: e.shelfId, data: e }));
    const a = change.alert;
    if (!a) continue;
    events.push(
      createEvent(stockAlertV1, {
        source: eventSource,
        key: e.shelfId,
        data: {
          alertId: a.alertId,
          siteId: e.siteId,
          shelfId: e.shelfId,
          bin: e.bin,
          sku: e.sku,
          kind: 'low_stock',
          status: a.status,
          count: e.count,
          threshold: a.threshold,
        },
      }),
    );
  }
  await queueOutbox(trx, topics.inventory, events);
}

/**
 * After commit: the live channel first (the dashboard's latency budget), then the in-process stock
 * feed (other modules), then a nudge to this process's outbox relay, which publishes the events
 * `queueInventoryEvents` queued in the same commit.
 */
export async function announceChanges(
  applied: readonly AppliedChange[],
  hub: LiveHub,
  db: CloudDb,
  logger: Logger,
  feed: StockFeed,
): Promise<void> {
  if (applied.length === 0) return;
  const at = new Date().toISOString();
  for (const change of applied) {
    const e = change.event;
    hub.publish({
      type: 'stock',
      siteId: e.siteId,
      shelfId: e.shelfId,
      bin: e.bin,
      sku: e.sku,
      count: e.count,
      previousCount: e.previousCount,
      confidence: e.confidence,
      reason: e.reason,
      weightG: e.weightG ?? null,
      ...(change.readingTime ? { readingTime: change.readingTime } : {}),
      at,
    });
    const a = change.alert;
    if (!a) continue;
    hub.publish({
      type: 'alert',
      siteId: e.siteId,
      alertId: a.alertId,
      shelfId: e.shelfId,
      bin: e.bin,
      sku: e.sku,
      kind: 'low_stock',
      status: a.status,
      message: a.message,
    });
  }
  outboxCommitted(db);
  await feed.emit(applied);
  logger.debug({ changes: applied.length }, 'stock changed');
}
