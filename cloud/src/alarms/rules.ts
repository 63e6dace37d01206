import type { DeviceState, TelemetryGap, TelemetryReadings } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { sql } from 'kysely';
import type { Alarms } from './alarms.js';
import type { HealthHistory } from './health-history.js';
import type { SiteSettings } from './site-settings.js';
import type { AlarmDb } from './tables.js';

/** A controller's cell fault, as the inventory announces it (bv.inventory hardware alerts). */
export interface CellFault {
  siteId: string;
  shelfId: string;
  bin: number;
  status: 'open' | 'cleared';
  message: string;
}

export interface RulePorts {
  /** The gateway a shelf hangs off (the registry's), or undefined when unknown. */
  gatewayOfShelf(shelfId: string): Promise<string | undefined>;
}

/**
 * The alarm rules over device state and telemetry. Each handler is idempotent (a redelivered event
 * raises nothing new: the open alarm of its cause only counts an occurrence), and the timer raises
 * what only time reveals (a gateway away longer than its site's limit) and clears what only quiet
 * clears (no new readings lost for a while).
 */
export class AlarmRules {
  constructor(
    private readonly db: AlarmDb,
    private readonly alarms: Alarms,
    private readonly settings: SiteSettings,
    private readonly health: HealthHistory,
    private readonly ports: RulePorts,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async deviceState(state: DeviceState, time: Date): Promise<void> {
    const gatewayId = state.edgeNodeId;
    const siteId = state.groupId;
    if (state.deviceId !== undefined) {
      // A device's birth or death proves its edge node alive.
      await this.db
        .updateTable('alarm_gateways')
        .set((eb) => ({ seen_at: sql<Date>`greatest(${eb.ref('seen_at')}, ${time})` }))
        .where('gateway_id', '=', gatewayId)
        .execute();
      return;
    }
    if (state.kind === 'NDEATH') {
      // The will is an NDEATH built when the session began, so its time is the connect time: the
      // gateway has been away since its last sign of life, not since then.
      // [Sparkplug] an NDEATH ends the session of its bdSeq only: a late will of an older one does not.
      const updated = await this.db
        .updateTable('alarm_gateways')
        .set((eb) => ({ online: false, since: sql<Date>`greatest(${eb.ref('seen_at')}, ${time})` }))
        .where('gateway_id', '=', gatewayId)
        .where('online', '=', true)
        .$if(state.bdSeq !== undefined, (q) =>
          q.where((eb) => eb.or([eb('bd_seq', 'is', null), eb('bd_seq', '=', state.bdSeq ?? -1)])),
        )
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        await this.db
          .insertInto('alarm_gateways')
          .values({
            gateway_id: gatewayId,
            site_id: siteId,
            online: false,
            since: time,
            seen_at: time,
            bd_seq: state.bdSeq ?? null,
          })
          .onConflict((oc) => oc.column('gateway_id').doNothing())
          .execute();
      }
      return;
    }
    const birth = state.kind === 'NBIRTH';
    await this.db
      .insertInto('alarm_gateways')
      .values({
        gateway_id: gatewayId,
        site_id: siteId,
        online: true,
        since: time,
        seen_at: time,
        bd_seq: state.bdSeq ?? null,
      })
      .onConflict((oc) =>
        oc.column('gateway_id').doUpdateSet((eb) => ({
          site_id: siteId,
          seen_at: sql<Date>`greatest(${eb.ref('alarm_gateways.seen_at')}, ${time})`,
          // Only a birth brings a gateway back [Sparkplug: data after a death needs a new birth].
          ...(birth ? { online: true, since: time } : {}),
          ...(state.bdSeq !== undefined ? { bd_seq: state.bdSeq } : {}),
        })),
      )
      .execute();
    if (birth)
      await this.alarms.clear({ kind: 'gateway_offline', gatewayId }, `gateway ${gatewayId} is back online`);
    if (state.queueDepth !== undefined) {
      await this.health.queueDepth(gatewayId, state.queueDepth, time);
      const { queueDepthMax } = await this.settings.of(siteId);
      if (state.queueDepth > queueDepthMax) {
        await this.alarms.raise({
          kind: 'queue_depth',
          siteId,
          gatewayId,
          severity: 'major',
          message: `outbox of ${gatewayId} holds ${state.queueDepth} readings (limit ${queueDepthMax})`,
          value: state.queueDepth,
        });
      } else {
        await this.alarms.clear(
          { kind: 'queue_depth', gatewayId },
          `outbox of ${gatewayId} back to ${state.queueDepth} readings`,
        );
      }
    }
  }

  async readings(batch: TelemetryReadings, arrived: Date): Promise<void> {
    this.health.readings(batch, arrived);
    // The newest reading with a temperature decides: a shelf back in range clears its alarm.
    let latest: { temperatureC: number; time: string } | undefined;
    for (const r of batch.readings) {
      if (r.temperatureC !== undefined && (!latest || r.time >= latest.time))
        latest = { temperatureC: r.temperatureC, time: r.time };
    }
    if (!latest) return;
    const { temperatureMinC, temperatureMaxC } = await this.settings.of(batch.groupId);
    const t = latest.temperatureC;
    const cause = { kind: 'temperature' as const, gatewayId: batch.edgeNodeId, shelfId: batch.deviceId };
    if (t < temperatureMinC || t > temperatureMaxC) {
      await this.alarms.raise({
        ...cause,
        siteId: batch.groupId,
        severity: 'major',
        message: `shelf ${batch.deviceId} at ${t.toFixed(1)} °C (allowed ${temperatureMinC} to ${temperatureMaxC} °C)`,
        value: t,
      });
    } else if (!batch.historical) {
      await this.alarms.clear(cause, `shelf ${batch.deviceId} back to ${t.toFixed(1)} °C`);
    }
  }

  async gap(gap: TelemetryGap): Promise<void> {
    const { readingsLostMin } = await this.settings.of(gap.groupId);
    if (gap.count < readingsLostMin) return;
    await this.alarms.raise({
      kind: 'readings_lost',
      siteId: gap.groupId,
      gatewayId: gap.edgeNodeId,
      shelfId: gap.deviceId,
      severity: gap.kind === 'dropped' ? 'critical' : 'major',
      message: `${gap.count} readings of ${gap.deviceId} lost (${gap.kind}: ${gap.reason})`,
      value: gap.count,
    });
  }

  async cellFault(f: CellFault): Promise<void> {
    const gatewayId = await this.ports.gatewayOfShelf(f.shelfId);
    if (gatewayId === undefined) {
      this.logger.warn({ shelfId: f.shelfId }, 'cell fault of an unknown shelf: no alarm');
      return;
    }
    const cause = { kind: 'controller_fault' as const, gatewayId, shelfId: f.shelfId, bin: f.bin };
    if (f.status === 'open') {
      await this.alarms.raise({
        ...cause,
        siteId: f.siteId,
        severity: 'major',
        message: `shelf ${f.shelfId} bin ${f.bin}: ${f.message}`,
        value: null,
      });
    } else await this.alarms.clear(cause, `shelf ${f.shelfId} bin ${f.bin}: ${f.message}`);
  }

  /** What time reveals: gateways away past their site's limit; losses quiet long enough to clear. */
  async tick(): Promise<void> {
    const now = this.now();
    const away = await this.db
      .selectFrom('alarm_gateways')
      .selectAll()
      .where('online', '=', false)
      .orderBy('since')
      .limit(1000)
      .execute();
    for (const g of away) {
      const { gatewayOfflineAfterMs } = await this.settings.of(g.site_id);
      const forMs = now.getTime() - new Date(g.since).getTime();
      if (forMs < gatewayOfflineAfterMs) continue;
      await this.alarms.raise({
        kind: 'gateway_offline',
        siteId: g.site_id,
        gatewayId: g.gateway_id,
        severity: 'critical',
        message: `gateway ${g.gateway_id} offline since ${new Date(g.since).toISOString()} (limit ${Math.round(gatewayOfflineAfterMs / 1000)} s)`,
        value: Math.round(forMs / 60_000),
      });
    }
    // Every open loss quiet for a minute is a candidate; its site's setting decides.
    for (const a of await this.alarms.quietSince('readings_lost', new Date(now.getTime() - 60_000))) {
      const { readingsLostClearMs } = await this.settings.of(a.siteId);
      if (now.getTime() - Date.parse(a.seenAt) < readingsLostClearMs) continue;
      await this.alarms.clear(
        { kind: 'readings_lost', gatewayId: a.gatewayId, ...(a.shelfId ? { shelfId: a.shelfId } : {}) },
        `no readings of ${a.shelfId ?? a.gatewayId} lost for ${Math.round(readingsLostClearMs / 60_000)} min`,
      );
    }
  }
}
