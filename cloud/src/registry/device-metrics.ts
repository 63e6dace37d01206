import type { TelemetryMetrics } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { CloudDb } from '../db/index.js';
import { iso } from '../db/time.js';

export type MetricValue = number | string | boolean | null;

/** One metric of a device as the API and the fleet page show it. */
export interface DeviceMetricRecord {
  name: string;
  type: string;
  value: MetricValue;
  time: string;
  historical: boolean;
  /** Recent values, newest first (only when asked for). */
  history?: { time: string; value: MetricValue }[];
}

/** The metrics of one device of a gateway; deviceId null is the edge node itself. */
export interface DeviceMetricsRecord {
  gatewayId: string;
  deviceId: string | null;
  metrics: DeviceMetricRecord[];
}

export interface DeviceMetricsOptions {
  /** Values kept per metric in the history. */
  historyPerMetric: number;
}

const defaults: DeviceMetricsOptions = { historyPerMetric: 100 };

/**
 * The generic telemetry of any Sparkplug edge node or device (bv.telemetry.metrics.v1): the latest
 * value per metric, which an older value (a late or historical one) never replaces, and the last
 * `historyPerMetric` values of each. Idempotent: a redelivered event writes the same rows.
 */
export class DeviceMetrics {
  private readonly options: DeviceMetricsOptions;

  constructor(
    private readonly db: CloudDb,
    private readonly logger: Logger,
    options: Partial<DeviceMetricsOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
  }

  /** Stores an event's metrics; false when its gateway is unknown here (or in another group). */
  async record(event: TelemetryMetrics): Promise<boolean> {
    const gateway = await this.db
      .selectFrom('gateways')
      .select('site_id')
      .where('id', '=', event.edgeNodeId)
      .executeTakeFirst();
    if (!gateway || gateway.site_id !== event.groupId) {
      this.logger.warn(
        { edgeNodeId: event.edgeNodeId, groupId: event.groupId },
        'metrics of an unknown gateway dropped',
      );
      return false;
    }
    const deviceId = event.deviceId ?? '';
    // The last value of a name in one event is its latest (a DDATA may carry several samples).
    const latest = new Map<string, TelemetryMetrics['metrics'][number]>();
    for (const m of event.metrics) {
      const seen = latest.get(m.name);
      if (!seen || Date.parse(m.time) >= Date.parse(seen.time)) latest.set(m.name, m);
    }
    await this.db.transaction().execute(async (trx) => {
      for (const m of latest.values()) {
        await trx
          .insertInto('device_metrics')
          .values({
            gateway_id: event.edgeNodeId,
            device_id: deviceId,
            name: m.name,
            type: m.type,
            value: JSON.stringify(m.value),
            time: m.time,
            historical: m.historical ?? false,
          })
          .onConflict((oc) =>
            oc
              .constraint('device_metrics_pk')
              .doUpdateSet((eb) => ({
                type: eb.ref('excluded.type'),
                value: eb.ref('excluded.value'),
                time: eb.ref('excluded.time'),
                historical: eb.ref('excluded.historical'),
              }))
              .where((eb) => eb('excluded.time', '>=', eb.ref('device_metrics.time'))),
          )
          .execute();
      }
      for (const m of event.metrics) {
        await trx
          .insertInto('device_metric_history')
          .values({
            gateway_id: event.edgeNodeId,
            device_id: deviceId,
            name: m.name,
            time: m.time,
            value: JSON.stringify(m.value),
          })
          .onConflict((oc) => oc.constraint('device_metric_history_pk').doNothing())
          .execute();
      }
      for (const name of latest.keys()) {
        // Bounded: only the newest values of a metric stay.
        await trx
          .deleteFrom('device_metric_history')
          .where('gateway_id', '=', event.edgeNodeId)
          .where('device_id', '=', deviceId)
          .where('name', '=', name)
          .where('time', '<', (eb) =>
            eb
              .selectFrom('device_metric_history')
              .select('time')
              .where('gateway_id', '=', event.edgeNodeId)
              .where('device_id', '=', deviceId)
              .where('name', '=', name)
              .orderBy('time', 'desc')
              .offset(this.options.historyPerMetric - 1)
              .limit(1),
          )
          .execute();
      }
    });
    return true;
  }

  /**
   * The latest metrics of a gateway's devices (and of the edge node itself), by device; with
   * `history` > 0, each metric's last `history` values as well.
   */
  async ofGateway(gatewayId: string, options: { deviceId?: string; history?: number } = {}) {
    const rows = await this.db
      .selectFrom('device_metrics')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .$if(options.deviceId !== undefined, (q) => q.where('device_id', '=', options.deviceId ?? ''))
      .orderBy('device_id')
      .orderBy('name')
      .execute();
    const history = Math.min(options.history ?? 0, this.options.historyPerMetric);
    const out = new Map<string, DeviceMetricsRecord>();
    for (const r of rows) {
      let device = out.get(r.device_id);
      if (!device) {
        device = { gatewayId, deviceId: r.device_id === '' ? null : r.device_id, metrics: [] };
        out.set(r.device_id, device);
      }
      const record: DeviceMetricRecord = {
        name: r.name,
        type: r.type,
        value: r.value,
        time: iso(r.time),
        historical: r.historical,
      };
      if (history > 0) {
        const past = await this.db
          .selectFrom('device_metric_history')
          .select(['time', 'value'])
          .where('gateway_id', '=', gatewayId)
          .where('device_id', '=', r.device_id)
          .where('name', '=', r.name)
          .orderBy('time', 'desc')
          .limit(history)
          .execute();
        record.history = past.map((p) => ({ time: iso(p.time), value: p.value }));
      }
      device.metrics.push(record);
    }
    return [...out.values()];
  }

  /** The devices of these gateways that are not shelves, with their latest metrics (fleet page). */
  async genericDevices(gatewayIds: readonly string[], limit = 50): Promise<DeviceMetricsRecord[]> {
    if (gatewayIds.length === 0) return [];
    const devices = await this.db
      .selectFrom('device_metrics')
      .select(['gateway_id', 'device_id'])
      .distinct()
      .where('gateway_id', 'in', gatewayIds)
      .where('device_id', 'not in', (eb) => eb.selectFrom('shelves').select('id'))
      .orderBy('gateway_id')
      .orderBy('device_id')
      .limit(limit)
      .execute();
    const out: DeviceMetricsRecord[] = [];
    for (const d of devices) {
      out.push(...(await this.ofGateway(d.gateway_id, { deviceId: d.device_id })));
    }
    return out;
  }
}
