import type { InventoryApi } from '../inventory/api.js';
import type { RegistryApi } from '../registry/api.js';
import { binKey, type Location } from './model.js';

/** What fulfilment needs to know about a site's shelves: where SKUs sit, and bins' counts. */
export interface StockDirectory {
  /** The bins of the site holding these SKUs, with their counts and walking positions. */
  locate(siteId: string, skus: readonly string[]): Promise<Map<string, Location[]>>;
  /** Every bin's count at the site, by `binKey`. */
  counts(siteId: string): Promise<Map<string, number>>;
}

/** The directory from the registry's places (aisles, shelves) and inventory's bins. */
export class ModuleStockDirectory implements StockDirectory {
  constructor(
    private readonly registry: Pick<RegistryApi, 'listAisles' | 'listShelves'>,
    private readonly inventory: Pick<InventoryApi, 'binsOfSite'>,
  ) {}

  async locate(siteId: string, skus: readonly string[]): Promise<Map<string, Location[]>> {
    const wanted = new Set(skus);
    const [aisles, shelves, bins] = await Promise.all([
      this.registry.listAisles(siteId),
      this.registry.listShelves({ siteId }),
      this.inventory.binsOfSite(siteId),
    ]);
    const aislePosition = new Map(aisles.map((a) => [a.id, a.position]));
    const shelfById = new Map(shelves.map((s) => [s.id, s]));
    const found = new Map<string, Location[]>();
    for (const b of bins) {
      if (b.sku === null || !wanted.has(b.sku)) continue;
      const shelf = shelfById.get(b.shelfId);
      const aisle = shelf?.aisleId ? aislePosition.get(shelf.aisleId) : undefined;
      found.set(b.sku, [
        ...(found.get(b.sku) ?? []),
        {
          shelfId: b.shelfId,
          bin: b.bin,
          count: b.count,
          // Shelves in no aisle are walked last.
          aislePosition: aisle ?? Number.MAX_SAFE_INTEGER,
          shelfPosition: shelf?.position ?? 0,
        },
      ]);
    }
    return found;
  }

  async counts(siteId: string): Promise<Map<string, number>> {
    const bins = await this.inventory.binsOfSite(siteId);
    return new Map(bins.map((b) => [binKey(b.shelfId, b.bin), b.count]));
  }
}
