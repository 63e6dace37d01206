import type { RegistryApi } from '../registry/api.js';
import type { FirmwareDb } from './rollout-tables.js';

/** Free-form labels on shelf controllers that rollout selectors pick by (`canary`, `cold-room`). */
export class DeviceTags {
  constructor(
    private readonly db: FirmwareDb,
    private readonly registry: RegistryApi,
  ) {}

  async of(shelfId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('firmware_tags')
      .select('tag')
      .where('device_id', '=', shelfId)
      .execute();
    return rows.map((r) => r.tag).sort();
  }

  /** Shelves that carry `tag`. */
  async withTag(tag: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('firmware_tags')
      .select('device_id')
      .where('tag', '=', tag)
      .execute();
    return new Set(rows.map((r) => r.device_id));
  }

  /** `authorise` sees the shelf's site first (NotFoundError for an unknown shelf). */
  async set(shelfId: string, tags: readonly string[], authorise: (siteId: string) => void): Promise<void> {
    const shelf = await this.registry.getShelf(shelfId);
    authorise(shelf.siteId);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('firmware_tags').where('device_id', '=', shelfId).execute();
      const unique = [...new Set(tags)];
      if (unique.length > 0)
        await trx
          .insertInto('firmware_tags')
          .values(unique.map((tag) => ({ device_id: shelfId, tag })))
          .execute();
    });
  }
}
