import { randomUUID } from 'node:crypto';
import type { EventLog } from '@bitv/shared/event-log';
import { createEvent, hardwareAlertV1, topics } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import type { AlertKind, CloudDb } from '../db/index.js';
import { isoOrNull } from '../db/time.js';
import { eventSource } from '../events.js';
import type { LiveHub } from '../live/hub.js';

/** Whether a bin's count is current, or the first reason it is not (most severe first). */
export type BinHealth = 'ok' | 'shelf_offline' | 'cell_fault' | 'low_confidence';
type HardwareAlertKind = Exclude<AlertKind, 'low_stock'>;

export interface BinHealthOptions {
  /** A weighed count whose confidence is below this is shown and alerted as uncertain. */
  lowConfidence: number;
}

export const binHealthDefaults: BinHealthOptions = { lowConfidence: 0.5 };

export function binHealthOf(
  b: { shelfOnline: boolean; cellFault: boolean; confidence: number; weighed: boolean },
  lowConfidence: number = binHealthDefaults.lowConfidence,
): BinHealth {
  if (!b.shelfOnline) return 'shelf_offline';
  if (b.cellFault) return 'cell_fault';
  if (b.weighed && b.confidence < lowConfidence) return 'low_confidence';
  return 'ok';
}

export interface CellFaultChange {
  bin: number;
  fault: boolean;
  /** Time of the bin's last reading with a weight (the fault's start), when known. */
  weighedAt?: string;
}

interface BinRow {
  siteId: string;
  shelfId: string;
  bin: number;
  sku: string | null;
}

interface AlertChange {
  row: BinRow;
  alertId: string;
  kind: HardwareAlertKind;
  status: 'open' | 'cleared';
  message: string;
}

const messages: Record<HardwareAlertKind, { open: string; cleared: string }> = {
  cell_fault: { open: 'load cell fault: count not current', cleared: 'load cell working again' },
  shelf_offline: { open: 'shelf offline: count not current', cleared: 'shelf back online' },
  low_confidence: { open: 'count uncertain (weight between whole units)', cleared: 'count certain again' },
};

/**
 * Makes faulty hardware visible: a bin whose shelf is offline, whose load cell reports a fault or
 * whose count from weight is uncertain gets an open alert (one per bin and kind, the same table and
 * live path as low stock) and a `bin-health` live message; both clear when the cause does. Each
 * transition is written in one transaction and announced after its commit; applying one twice
 * changes nothing the second time (the alert is already open, or already cleared).
 */
export class BinHealthMonitor {
  readonly options: BinHealthOptions;

  constructor(
    private readonly db: CloudDb,
    private readonly hub: LiveHub,
    private readonly eventLog: EventLog,
    private readonly logger: Logger,
    private readonly alertsRaised: Counter<'kind'>,
    options: Partial<BinHealthOptions> = {},
  ) {
    this.options = { ...binHealthDefaults, ...options };
  }

  /** Cells of one shelf that started or stopped reporting a fault. */
  cellFaults(shelfId: string, changes: readonly CellFaultChange[]): Promise<void> {
    return this.#apply(shelfId, changes, 'cell_fault', (c) => ({
      set: { cell_fault: c.fault, ...(c.weighedAt ? { weighed_at: c.weighedAt } : {}) },
      open: c.fault,
    }));
  }

  /**
   * New confidences of bins of one shelf (a settled weight, or a count entered by a person): opens
   * or clears their low-confidence alerts.
   */
  confidences(shelfId: string, changes: readonly { bin: number; confidence: number }[]): Promise<void> {
    return this.#apply(shelfId, changes, 'low_confidence', (c) => ({
      set: { confidence: c.confidence },
      open: c.confidence < this.options.lowConfidence,
    }));
  }

  /**
   * Writes each bin's new state and opens or clears its alert of `kind` in one transaction, then
   * tells the live pages and the event log.
   */
  async #apply<C extends { bin: number }>(
    shelfId: string,
    changes: readonly C[],
    kind: HardwareAlertKind,
    decide: (change: C) => {
      set: { cell_fault?: boolean; weighed_at?: string; confidence?: number };
      open: boolean;
    },
  ): Promise<void> {
    if (changes.length === 0) return;
    const alerts = await this.db.transaction().execute(async (trx) => {
      const out: AlertChange[] = [];
      for (const c of changes) {
        const { set, open } = decide(c);
        await trx
          .updateTable('bins')
          .set(set)
          .where('shelf_id', '=', shelfId)
          .where('bin', '=', c.bin)
          .execute();
        const row = await binRow(trx, shelfId, c.bin);
        const a = row && (await transition(trx, row, kind, open));
        if (a) out.push(a);
      }
      return out;
    });
    await this.announce(alerts);
    await this.publishHealth(
      shelfId,
      changes.map((c) => c.bin),
    );
  }

  /**
   * Shelves that went offline (DDEATH, or their gateway's NDEATH) or came back (DBIRTH). Only bins
   * holding a product get an alert: an empty, unassigned bin has no count to be wrong about.
   */
  async shelfPresence(shelfIds: readonly string[], online: boolean): Promise<void> {
    for (const shelfId of shelfIds) {
      const alerts = await this.db.transaction().execute(async (trx) => {
        const rows = await binRows(trx, shelfId);
        const out: AlertChange[] = [];
        for (const row of rows) {
          const a = await transition(trx, row, 'shelf_offline', !online && row.sku !== null);
          if (a) out.push(a);
        }
        return out;
      });
      await this.announce(alerts);
      await this.publishHealth(shelfId);
    }
  }

  /**
   * After commit: live first, then `bv.inventory` (hardware-alert.v1), as stock changes are
   * announced (`announceChanges`, with the same caveat: a crash in between loses the events).
   */
  private async announce(alerts: readonly AlertChange[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const a of alerts) {
      if (a.status === 'open') this.alertsRaised.inc({ kind: a.kind });
      this.logger.info(
        { shelfId: a.row.shelfId, bin: a.row.bin, kind: a.kind, status: a.status },
        'hardware alert',
      );
      this.hub.publish({
        type: 'alert',
        siteId: a.row.siteId,
        alertId: a.alertId,
        shelfId: a.row.shelfId,
        bin: a.row.bin,
        sku: a.row.sku,
        kind: a.kind,
        status: a.status,
        message: a.message,
      });
    }
    await this.eventLog.publish(
      topics.inventory,
      alerts.map((a) =>
        createEvent(hardwareAlertV1, {
          source: eventSource,
          key: a.row.shelfId,
          data: {
            alertId: a.alertId,
            siteId: a.row.siteId,
            shelfId: a.row.shelfId,
            bin: a.row.bin,
            sku: a.row.sku,
            kind: a.kind,
            status: a.status,
            message: a.message,
          },
        }),
      ),
    );
  }

  /** Sends the current health of a shelf's bins (all, or the ones named) to the live channel. */
  private async publishHealth(shelfId: string, bins?: readonly number[]): Promise<void> {
    let q = this.db
      .selectFrom('bins')
      .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
      .select([
        'shelves.site_id',
        'shelves.online',
        'bins.bin',
        'bins.cell_fault',
        'bins.confidence',
        'bins.align_pending',
        'bins.weighed_at',
      ])
      .where('bins.shelf_id', '=', shelfId);
    if (bins) q = q.where('bins.bin', 'in', [...bins]);
    for (const r of await q.execute()) {
      this.hub.publish({
        type: 'bin-health',
        siteId: r.site_id,
        shelfId,
        bin: r.bin,
        health: binHealthOf(
          {
            shelfOnline: r.online,
            cellFault: r.cell_fault,
            confidence: r.confidence,
            weighed: !r.align_pending,
          },
          this.options.lowConfidence,
        ),
        weighedAt: isoOrNull(r.weighed_at),
      });
    }
  }
}

function binRowsQuery(trx: CloudDb, shelfId: string) {
  return trx
    .selectFrom('bins')
    .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
    .select(['shelves.site_id', 'bins.shelf_id', 'bins.bin', 'bins.sku'])
    .where('bins.shelf_id', '=', shelfId);
}

async function binRows(trx: CloudDb, shelfId: string): Promise<BinRow[]> {
  const rows = await binRowsQuery(trx, shelfId).orderBy('bins.bin').execute();
  return rows.map((r) => ({ siteId: r.site_id, shelfId: r.shelf_id, bin: r.bin, sku: r.sku }));
}

async function binRow(trx: CloudDb, shelfId: string, bin: number): Promise<BinRow | undefined> {
  const r = await binRowsQuery(trx, shelfId).where('bins.bin', '=', bin).executeTakeFirst();
  return r && { siteId: r.site_id, shelfId: r.shelf_id, bin: r.bin, sku: r.sku };
}

/** Opens the bin's alert of this kind if `open` and none is, clears it if not `open` and one is. */
async function transition(
  trx: CloudDb,
  row: BinRow,
  kind: HardwareAlertKind,
  open: boolean,
): Promise<AlertChange | undefined> {
  const current = await trx
    .selectFrom('alerts')
    .select(['id'])
    .where('shelf_id', '=', row.shelfId)
    .where('bin', '=', row.bin)
    .where('kind', '=', kind)
    .where('status', '=', 'open')
    .executeTakeFirst();
  const what = row.sku ?? `bin ${row.bin}`;
  if (open && !current) {
    const alertId = randomUUID();
    const message = `${what}: ${messages[kind].open}`;
    await trx
      .insertInto('alerts')
      .values({
        id: alertId,
        site_id: row.siteId,
        shelf_id: row.shelfId,
        bin: row.bin,
        sku: row.sku,
        kind,
        status: 'open',
        message,
        cleared_at: null,
      })
      .execute();
    return { row, alertId, kind, status: 'open', message };
  }
  if (!open && current) {
    await trx
      .updateTable('alerts')
      .set({ status: 'cleared', cleared_at: new Date() })
      .where('id', '=', current.id)
      .execute();
    return {
      row,
      alertId: current.id,
      kind,
      status: 'cleared',
      message: `${what}: ${messages[kind].cleared}`,
    };
  }
  return undefined;
}
