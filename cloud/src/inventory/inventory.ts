import { NotFoundError, ValidationError } from '@bitv/shared';
import type { Logger } from '@bitv/shared/log';
import type { AlertKind, CloudDb } from '../db/index.js';
import { iso, isoOrNull } from '../db/time.js';
import type { LiveHub } from '../live/hub.js';
import { type BinHealth, binHealthOf } from './bin-health.js';
import { type Counting, roundToLink } from './counting.js';
import { reservedUnits } from './reservations.js';
import { type AppliedChange, announceChanges, applyAndQueue } from './stock-change.js';

export interface Product {
  sku: string;
  name: string;
  unitWeightG: number;
  toleranceG: number;
}

export interface BinView {
  shelfId: string;
  bin: number;
  sku: string | null;
  productName: string | null;
  unitWeightG: number | null;
  tareG: number;
  count: number;
  confidence: number;
  weightG: number | null;
  /** Whether the count has been matched against the shelf's weight (its first stable reading). */
  weighed: boolean;
  lowStockThreshold: number | null;
  lit: { color: string; blink: string } | null;
  /** Whether the count is current: `ok`, or why not (shelf offline, cell fault, low confidence). */
  health: BinHealth;
  /** Time of the last reading that carried this bin's weight (null: never weighed). */
  weighedAt: string | null;
  updatedAt: string;
}

export interface Alert {
  id: string;
  siteId: string;
  shelfId: string;
  bin: number;
  sku: string | null;
  kind: AlertKind;
  status: 'open' | 'cleared';
  message: string;
  createdAt: string;
  clearedAt: string | null;
}

export interface Stock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  bins: { siteId: string; shelfId: string; bin: number; count: number; confidence: number }[];
}

/** Products, bin assignments, manual counts and stock queries (reservations: `reservations.ts`). */
export class Inventory {
  constructor(
    private readonly db: CloudDb,
    private readonly hub: LiveHub,
    private readonly counting: Counting,
    private readonly logger: Logger,
  ) {}

  async upsertProduct(p: Product): Promise<Product> {
    await this.db
      .insertInto('products')
      .values({ sku: p.sku, name: p.name, unit_weight_g: p.unitWeightG, tolerance_g: p.toleranceG })
      .onConflict((oc) =>
        oc
          .column('sku')
          .doUpdateSet({ name: p.name, unit_weight_g: p.unitWeightG, tolerance_g: p.toleranceG }),
      )
      .execute();
    this.counting.invalidate();
    return p;
  }

  async listProducts(): Promise<Product[]> {
    const rows = await this.db.selectFrom('products').selectAll().orderBy('sku').execute();
    return rows.map((r) => ({
      sku: r.sku,
      name: r.name,
      unitWeightG: r.unit_weight_g,
      toleranceG: r.tolerance_g,
    }));
  }

  async getProduct(sku: string): Promise<Product> {
    const r = await this.db.selectFrom('products').selectAll().where('sku', '=', sku).executeTakeFirst();
    if (!r) throw new NotFoundError(`product ${sku} not found`);
    return { sku: r.sku, name: r.name, unitWeightG: r.unit_weight_g, toleranceG: r.tolerance_g };
  }

  /**
   * Puts a product in a bin (or empties the assignment with `sku: null`); optionally sets its count
   * and tare. A count given without a tare is taken as true at the next settled weight, which then
   * fixes the tare.
   */
  async assign(input: {
    shelfId: string;
    bin: number;
    sku: string | null;
    tareG?: number;
    lowStockThreshold?: number | null;
    count?: number;
    actor: string;
  }): Promise<BinView> {
    if (input.sku !== null) await this.getProduct(input.sku);
    const applied = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('bins')
        .set({
          sku: input.sku,
          updated_at: new Date(),
          ...(input.tareG !== undefined ? { tare_g: input.tareG, align_pending: false } : {}),
          // A count without a tare: trust the count, and let the next settled weight define the tare
          // (a shelf's empty tray weighs something the person entering the count does not know).
          ...(input.tareG === undefined && input.count !== undefined ? { align_pending: true } : {}),
          ...(input.lowStockThreshold !== undefined ? { low_stock_threshold: input.lowStockThreshold } : {}),
        })
        .where('shelf_id', '=', input.shelfId)
        .where('bin', '=', input.bin)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw new NotFoundError(`bin ${input.bin} of shelf ${input.shelfId} not found`);
      if (input.count === undefined) return undefined;
      return applyAndQueue(trx, {
        shelfId: input.shelfId,
        bin: input.bin,
        count: input.count,
        confidence: 1,
        reason: 'assignment',
        actor: input.actor,
      });
    });
    await this.after(input.shelfId, applied);
    return this.bin(input.shelfId, input.bin);
  }

  /**
   * Sets a bin's count by hand: an adjustment (`delta`, e.g. damaged goods written off) or a cycle
   * count (`counted`, what a person found). Either way the bin's tare is moved so that its last
   * settled weight means the new count, so the next readings agree with the person, not the scale.
   */
  async setCount(input: {
    shelfId: string;
    bin: number;
    reason: 'adjustment' | 'cycle_count';
    delta?: number;
    counted?: number;
    note?: string;
    actor: string;
  }): Promise<{ bin: BinView; previousCount: number; discrepancy: number }> {
    const current = await this.bin(input.shelfId, input.bin);
    const count = input.counted ?? current.count + (input.delta ?? 0);
    if (count < 0) throw new ValidationError(`count would be ${count}; a bin cannot hold fewer than 0 units`);
    const tareG =
      current.weightG !== null && current.unitWeightG !== null
        ? roundToLink(current.weightG - count * current.unitWeightG)
        : undefined;
    const applied = await this.db.transaction().execute((trx) =>
      applyAndQueue(trx, {
        shelfId: input.shelfId,
        bin: input.bin,
        count,
        confidence: 1,
        reason: input.reason,
        ...(tareG !== undefined ? { tareG } : {}),
        actor: input.actor,
        ...(input.note ? { note: input.note } : {}),
      }),
    );
    await this.after(input.shelfId, applied);
    return {
      bin: await this.bin(input.shelfId, input.bin),
      previousCount: current.count,
      discrepancy: count - current.count,
    };
  }

  private async after(shelfId: string, applied: AppliedChange | undefined): Promise<void> {
    this.counting.invalidate(shelfId);
    if (!applied) return;
    await announceChanges([applied], this.hub, this.db, this.logger, this.counting.feed);
    // A count a person entered is certain: it clears the bin's low-confidence alert.
    await this.counting.health.confidences(shelfId, [
      { bin: applied.event.bin, confidence: applied.event.confidence },
    ]);
  }

  private binQuery() {
    return this.db
      .selectFrom('bins')
      .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
      .leftJoin('products', 'products.sku', 'bins.sku')
      .select([
        'shelves.online',
        'bins.cell_fault',
        'bins.weighed_at',
        'bins.shelf_id',
        'bins.bin',
        'bins.sku',
        'products.name',
        'products.unit_weight_g',
        'bins.tare_g',
        'bins.count',
        'bins.confidence',
        'bins.weight_g',
        'bins.align_pending',
        'bins.low_stock_threshold',
        'bins.lit_color',
        'bins.lit_blink',
        'bins.updated_at',
      ]);
  }

  async bin(shelfId: string, bin: number): Promise<BinView> {
    const r = await this.binQuery()
      .where('bins.shelf_id', '=', shelfId)
      .where('bins.bin', '=', bin)
      .executeTakeFirst();
    if (!r) throw new NotFoundError(`bin ${bin} of shelf ${shelfId} not found`);
    return toBinView(r, this.counting.health.options.lowConfidence);
  }

  async binsOfSite(siteId: string): Promise<BinView[]> {
    const rows = await this.binQuery()
      .where('shelves.site_id', '=', siteId)
      .orderBy('bins.shelf_id')
      .orderBy('bins.bin')
      .execute();
    const lowConfidence = this.counting.health.options.lowConfidence;
    return rows.map((r) => toBinView(r, lowConfidence));
  }

  async alerts(siteId: string, status: 'open' | 'cleared' | 'all' = 'open'): Promise<Alert[]> {
    let q = this.db
      .selectFrom('alerts')
      .selectAll()
      .where('site_id', '=', siteId)
      .orderBy('created_at', 'desc')
      .limit(200);
    if (status !== 'all') q = q.where('status', '=', status);
    return (await q.execute()).map((r) => ({
      id: r.id,
      siteId: r.site_id,
      shelfId: r.shelf_id,
      bin: r.bin,
      sku: r.sku,
      kind: r.kind,
      status: r.status,
      message: r.message,
      createdAt: iso(r.created_at),
      clearedAt: r.cleared_at ? iso(r.cleared_at) : null,
    }));
  }

  async stock(sku: string, siteId?: string): Promise<Stock> {
    await this.getProduct(sku);
    let q = this.db
      .selectFrom('bins')
      .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
      .select(['shelves.site_id', 'bins.shelf_id', 'bins.bin', 'bins.count', 'bins.confidence'])
      .where('bins.sku', '=', sku)
      .orderBy('bins.shelf_id')
      .orderBy('bins.bin');
    if (siteId) q = q.where('shelves.site_id', '=', siteId);
    const bins = (await q.execute()).map((r) => ({
      siteId: r.site_id,
      shelfId: r.shelf_id,
      bin: r.bin,
      count: r.count,
      confidence: r.confidence,
    }));
    const onHand = bins.reduce((n, b) => n + b.count, 0);
    const reserved = await reservedUnits(this.db, sku);
    return { sku, onHand, reserved, available: onHand - reserved, bins };
  }
}

function toBinView(
  r: {
    online: boolean;
    cell_fault: boolean;
    weighed_at: Date | null;
    shelf_id: string;
    bin: number;
    sku: string | null;
    name: string | null;
    unit_weight_g: number | null;
    tare_g: number;
    count: number;
    confidence: number;
    weight_g: number | null;
    align_pending: boolean;
    low_stock_threshold: number | null;
    lit_color: string | null;
    lit_blink: string | null;
    updated_at: Date;
  },
  lowConfidence: number,
): BinView {
  return {
    shelfId: r.shelf_id,
    bin: r.bin,
    sku: r.sku,
    productName: r.name,
    unitWeightG: r.unit_weight_g,
    tareG: r.tare_g,
    count: r.count,
    confidence: r.confidence,
    weightG: r.weight_g,
    weighed: !r.align_pending,
    lowStockThreshold: r.low_stock_threshold,
    lit: r.lit_color ? { color: r.lit_color, blink: r.lit_blink ?? 'steady' } : null,
    health: binHealthOf(
      { shelfOnline: r.online, cellFault: r.cell_fault, confidence: r.confidence, weighed: !r.align_pending },
      lowConfidence,
    ),
    weighedAt: isoOrNull(r.weighed_at),
    updatedAt: iso(r.updated_at),
  };
}
