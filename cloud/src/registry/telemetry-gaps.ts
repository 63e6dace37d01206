import type { TelemetryGap } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import type { CloudDb } from '../db/index.js';
import { iso } from '../db/time.js';

/** A range of readings an edge agent said it will never send, as the fleet page shows it. */
export interface TelemetryGapRecord {
  gatewayId: string;
  deviceId: string;
  kind: TelemetryGap['kind'];
  fromSeq: number;
  toSeq: number;
  count: number;
  reason: string;
  reportedAt: string;
}

/**
 * What the edge lost, from its gap reports: readings dropped at an outbox limit (`dropped`) or
 * never received from a shelf (`link`). Each report is stored once, keyed by its range, so a
 * redelivered event neither doubles the count nor the metric.
 */
export class TelemetryGaps {
  constructor(
    private readonly db: CloudDb,
    private readonly lost: Counter<'kind'>,
    private readonly logger: Logger,
  ) {}

  /** Records a report; false when it was already recorded or its gateway is unknown here. */
  async record(gap: TelemetryGap, reportedAt: Date): Promise<boolean> {
    const gateway = await this.db
      .selectFrom('gateways')
      .select('site_id')
      .where('id', '=', gap.edgeNodeId)
      .executeTakeFirst();
    if (!gateway || gateway.site_id !== gap.groupId) {
      this.logger.warn(
        { edgeNodeId: gap.edgeNodeId, groupId: gap.groupId },
        'gap report of an unknown gateway dropped',
      );
      return false;
    }
    const inserted = await this.db
      .insertInto('telemetry_gaps')
      .values({
        gateway_id: gap.edgeNodeId,
        device_id: gap.deviceId,
        kind: gap.kind,
        from_seq: gap.fromSeq,
        to_seq: gap.toSeq,
        count: gap.count,
        reason: gap.reason,
        reported_at: reportedAt,
      })
      .onConflict((oc) => oc.constraint('telemetry_gaps_pk').doNothing())
      .returning('count')
      .executeTakeFirst();
    if (!inserted) return false;
    this.lost.inc({ kind: gap.kind }, gap.count);
    this.logger.warn(
      {
        gatewayId: gap.edgeNodeId,
        deviceId: gap.deviceId,
        kind: gap.kind,
        count: gap.count,
        reason: gap.reason,
      },
      'readings lost at the edge',
    );
    return true;
  }

  /** Readings lost per gateway (these, or all), over every report kept. */
  async lostByGateway(gatewayIds?: readonly string[]): Promise<Map<string, number>> {
    if (gatewayIds?.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('telemetry_gaps')
      .select((eb) => ['gateway_id', eb.fn.sum<string>('count').as('lost')])
      .$if(gatewayIds !== undefined, (q) => q.where('gateway_id', 'in', gatewayIds ?? []))
      .groupBy('gateway_id')
      .execute();
    return new Map(rows.map((r) => [r.gateway_id, Number(r.lost)]));
  }

  /** The latest reports of these gateways, newest first. */
  async recent(gatewayIds: readonly string[], limit = 20): Promise<TelemetryGapRecord[]> {
    if (gatewayIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('telemetry_gaps')
      .selectAll()
      .where('gateway_id', 'in', gatewayIds)
      .orderBy('reported_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      gatewayId: r.gateway_id,
      deviceId: r.device_id,
      kind: r.kind,
      fromSeq: Number(r.from_seq),
      toSeq: Number(r.to_seq),
      count: r.count,
      reason: r.reason,
      reportedAt: iso(r.reported_at),
    }));
  }
}
