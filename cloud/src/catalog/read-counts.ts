import type { Logger } from '@bitv/shared/log';
import { sql } from 'kysely';
import type { CatalogDb } from './store.js';

/**
 * How often each product is read, kept in memory and added to `catalog_read_counts` now and then,
 * so a restarted instance knows which products to load into the cache before the first request.
 * A lost flush (crash) only loses some counts: they rank products, they are not a ledger.
 */
export class ReadCounts {
  private pending = new Map<string, number>();

  constructor(
    private readonly db: CatalogDb,
    private readonly logger: Logger,
    /** Distinct SKUs held between flushes; beyond it new SKUs are not counted (bounded memory). */
    private readonly maxPending = 10_000,
  ) {}

  read(sku: string): void {
    const n = this.pending.get(sku);
    if (n === undefined && this.pending.size >= this.maxPending) return;
    this.pending.set(sku, (n ?? 0) + 1);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const rows = [...batch].map(([sku, reads]) => ({ sku, reads }));
    try {
      await this.db
        .insertInto('catalog_read_counts')
        .values(rows)
        .onConflict((oc) =>
          oc.column('sku').doUpdateSet({ reads: sql`catalog_read_counts.reads + excluded.reads` }),
        )
        .execute();
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, skus: rows.length },
        'read counts not saved; kept for the next flush',
      );
      for (const [sku, n] of batch) this.pending.set(sku, (this.pending.get(sku) ?? 0) + n);
    }
  }

  /** The most-read SKUs that still exist and are not archived. */
  async top(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('catalog_read_counts')
      .innerJoin('products', 'products.sku', 'catalog_read_counts.sku')
      .select('catalog_read_counts.sku')
      .where('products.status', '<>', 'archived')
      .orderBy('catalog_read_counts.reads', 'desc')
      .orderBy('catalog_read_counts.sku')
      .limit(limit)
      .execute();
    return rows.map((r) => r.sku);
  }
}
