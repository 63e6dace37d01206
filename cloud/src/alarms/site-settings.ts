import type { AlarmSettings, SiteAlarmSettings } from './settings.js';
import type { AlarmDb } from './tables.js';

/** Each site's alarm thresholds: the process defaults with the site's overrides on top. */
export class SiteSettings {
  private readonly cache = new Map<string, { at: number; settings: AlarmSettings }>();

  constructor(
    private readonly db: AlarmDb,
    private readonly defaults: AlarmSettings,
    /** Rules run per reading batch: a site's row is read at most this often. */
    private readonly cacheMs = 5_000,
  ) {}

  async of(siteId: string): Promise<AlarmSettings> {
    const hit = this.cache.get(siteId);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.settings;
    const row = await this.db
      .selectFrom('alarm_settings')
      .select('settings')
      .where('site_id', '=', siteId)
      .executeTakeFirst();
    const settings = { ...this.defaults, ...((row?.settings ?? {}) as SiteAlarmSettings) };
    this.cache.set(siteId, { at: Date.now(), settings });
    if (this.cache.size > 10_000) this.cache.clear();
    return settings;
  }

  /** The site's own overrides (what the API shows next to the effective values). */
  async overrides(siteId: string): Promise<SiteAlarmSettings> {
    const row = await this.db
      .selectFrom('alarm_settings')
      .select('settings')
      .where('site_id', '=', siteId)
      .executeTakeFirst();
    return (row?.settings ?? {}) as SiteAlarmSettings;
  }

  async set(siteId: string, overrides: SiteAlarmSettings): Promise<AlarmSettings> {
    await this.db
      .insertInto('alarm_settings')
      .values({ site_id: siteId, settings: JSON.stringify(overrides) })
      .onConflict((oc) => oc.column('site_id').doUpdateSet({ settings: JSON.stringify(overrides) }))
      .execute();
    this.cache.delete(siteId);
    return this.of(siteId);
  }
}
