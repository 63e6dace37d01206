import type { DeviceState } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { sql } from 'kysely';
import { announceLights, applyReportedLights, type BinLight, clearLights } from '../commands/lights.js';
import type { CloudDb } from '../db/index.js';
import type { LiveHub } from '../live/hub.js';
import { insertBins, toGateway } from './registry.js';

/**
 * Follows `bv.device-state`: NBIRTH/NDEATH/NDATA move a gateway online/offline and carry its
 * agent's health; DBIRTH/DDEATH do the same for a shelf controller, and a DBIRTH from a shelf
 * the registry has not seen yet registers it under the gateway (plug-and-play shelves).
 */
export class DeviceStateTracker {
  constructor(
    private readonly db: CloudDb,
    private readonly hub: LiveHub,
    private readonly logger: Logger,
    /** Told which shelves went offline or came back (the inventory's hardware alerts follow them). */
    private readonly onShelfPresence?: (shelfIds: readonly string[], online: boolean) => Promise<void>,
  ) {}

  async apply(state: DeviceState, time: Date): Promise<void> {
    const gateway = await this.db
      .selectFrom('gateways')
      .selectAll()
      .where('id', '=', state.edgeNodeId)
      .executeTakeFirst();
    if (!gateway) {
      // A broker only admits gateways with a registry credential, so this is a stale or foreign event.
      this.logger.warn(
        { edgeNodeId: state.edgeNodeId, kind: state.kind },
        'device state for an unknown gateway dropped',
      );
      return;
    }
    if (gateway.site_id !== state.groupId) {
      this.logger.warn(
        { edgeNodeId: state.edgeNodeId, groupId: state.groupId },
        'device state from the wrong group dropped',
      );
      return;
    }
    if (state.deviceId === undefined) await this.applyNode(state, time);
    else await this.applyDevice(state, gateway.site_id, gateway.aisle_id, time);
  }

  private async applyNode(state: DeviceState, time: Date): Promise<void> {
    const birth = state.kind === 'NBIRTH';
    // The node and its shelves go offline in one commit: no reader sees one without the other.
    let lights: BinLight[] = [];
    const row = await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('gateways')
        .set({
          online: state.kind !== 'NDEATH',
          last_seen_at: time,
          ...(birth ? { last_birth_at: time } : {}),
          ...(state.bdSeq !== undefined ? { bd_seq: state.bdSeq } : {}),
          ...(state.queueDepth !== undefined ? { queue_depth: state.queueDepth } : {}),
          ...(state.oldestUnsentMs !== undefined ? { oldest_unsent_ms: state.oldestUnsentMs } : {}),
          ...(state.firmware !== undefined ? { agent_version: state.firmware } : {}),
          ...(typeof state.metrics?.['agent/version'] === 'string'
            ? { agent_version: state.metrics['agent/version'] }
            : {}),
          ...(typeof state.metrics?.['links/down'] === 'number'
            ? { links_down: state.metrics['links/down'] }
            : {}),
          ...(typeof state.metrics?.['links/error'] === 'string'
            ? { link_error: state.metrics['links/error'] }
            : {}),
        })
        .where('id', '=', state.edgeNodeId)
        // Sparkplug 3.0: a host matches an NDEATH's bdSeq to the one of the NBIRTH it ends; an NDEATH
        // from an older session (a late will message) must not mark the current session offline.
        .$if(state.kind === 'NDEATH' && state.bdSeq !== undefined, (q) =>
          q.where((eb) => eb.or([eb('bd_seq', 'is', null), eb('bd_seq', '=', state.bdSeq ?? -1)])),
        )
        .returningAll()
        .executeTakeFirst();
      if (updated && state.kind === 'NDEATH') {
        await trx
          .updateTable('shelves')
          .set({ online: false })
          .where('gateway_id', '=', state.edgeNodeId)
          .execute();
        lights = await clearLights(trx, { gatewayId: state.edgeNodeId });
      }
      return updated;
    });
    if (!row) return;
    if (state.kind === 'NDEATH' && this.onShelfPresence) {
      const shelves = await this.db
        .selectFrom('shelves')
        .select('id')
        .where('gateway_id', '=', state.edgeNodeId)
        .execute();
      await this.onShelfPresence(
        shelves.map((x) => x.id),
        false,
      );
    }
    const g = toGateway(row);
    announceLights(this.hub, g.siteId, lights);
    this.hub.publish({
      type: 'gateway',
      siteId: g.siteId,
      gatewayId: g.id,
      online: g.online,
      queueDepth: g.queueDepth,
      agentVersion: g.agentVersion,
      lastSeenAt: g.lastSeenAt,
      linksDown: g.linksDown,
      linkError: g.linkError,
    });
  }

  private async applyDevice(
    state: DeviceState,
    siteId: string,
    aisleId: string | null,
    time: Date,
  ): Promise<void> {
    const deviceId = state.deviceId as string;
    const online = state.kind !== 'DDEATH';
    const serial = state.serialNumber ?? deviceId.replace(/^shelf-/, '');
    // The shelf's state and its lights commit together, so no reader sees it reborn with stale lights.
    const lights = await this.db.transaction().execute(async (trx): Promise<BinLight[] | null> => {
      const reported = () =>
        state.kind === 'DBIRTH'
          ? applyReportedLights(trx, deviceId, state.metrics)
          : state.kind === 'DDEATH'
            ? clearLights(trx, { shelfId: deviceId })
            : Promise.resolve([]);
      const existing = await trx
        .selectFrom('shelves')
        .select(['bin_count'])
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (!existing) {
        // Not a shelf (a generic Sparkplug device: its metrics are DeviceMetrics'), or a shelf
        // whose birth has not been seen: nothing of the shelves' to change.
        if (state.kind !== 'DBIRTH' || state.binCount === undefined) return null;
        await trx
          .insertInto('shelves')
          .values({
            id: deviceId,
            gateway_id: state.edgeNodeId,
            device_id: deviceId,
            site_id: siteId,
            aisle_id: aisleId,
            serial_number: serial,
            firmware: state.firmware ?? null,
            bin_count: state.binCount,
            position: 0,
            online,
            last_seen_at: time,
          })
          .execute();
        await insertBins(trx, deviceId, 0, state.binCount);
        return reported();
      }
      await trx
        .updateTable('shelves')
        .set({
          online,
          last_seen_at: time,
          gateway_id: state.edgeNodeId,
          ...(state.firmware !== undefined ? { firmware: state.firmware } : {}),
          ...(state.binCount !== undefined
            ? { bin_count: sql<number>`greatest(bin_count, ${state.binCount})` }
            : {}),
        })
        .where('id', '=', deviceId)
        .execute();
      if (state.binCount !== undefined && state.binCount > existing.bin_count) {
        await insertBins(trx, deviceId, existing.bin_count, state.binCount);
      }
      return reported();
    });
    // A device event also proves the node is alive.
    await this.db
      .updateTable('gateways')
      .set({ last_seen_at: time })
      .where('id', '=', state.edgeNodeId)
      .execute();
    if (lights === null) return;
    this.hub.publish({
      type: 'shelf',
      siteId,
      shelfId: deviceId,
      gatewayId: state.edgeNodeId,
      online,
      firmware: state.firmware ?? null,
    });
    announceLights(this.hub, siteId, lights);
    await this.onShelfPresence?.([deviceId], online);
  }
}
