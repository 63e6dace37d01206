import type { TelemetryReadings } from '@bitv/shared/events';
import { sql } from 'kysely';
import { iso } from '../db/time.js';
import type { AlarmDb } from './tables.js';

/** One minute of a gateway's health, as its page charts it. */
export interface HealthPoint {
  minute: string;
  /** Reading batches (DDATA) bridged that minute. */
  messages: number;
  readings: number;
  /** Shelf-to-cloud latency of live (not historical) readings, ms. */
  latencyAvgMs: number | null;
  latencyMaxMs: number | null;
  /** Deepest outbox the agent reported that minute. */
  queueDepth: number | null;
}

const minuteOf = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000);

/** Increments of one gateway's minute, summed in memory until the next flush. */
interface PendingMinute {
  gatewayId: string;
  minute: Date;
  messages: number;
  readings: number;
  latencySumMs: number;
  latencyMaxMs: number;
  latencyCount: number;
}

/**
 * Per-minute health of each gateway, from the same events the alarm rules read: reading batches
 * (rate, and latency from the reading's own time to its arrival here) and the agent's outbox depth.
 * The agent's health is not among the generic device metrics (device-state carries it), so it is
 * kept here. Bounded: minutes older than `keepMs` are pruned.
 *
 * Reading batches arrive many a second per gateway (one per shelf sample): their counts are summed
 * in memory and written by `flush` (a timer, about every second, and before every read), one
 * statement for all gateways instead of one per batch on the telemetry path. A crash loses at
 * most the unflushed second of a chart, never a reading.
 */
export class HealthHistory {
  private pending = new Map<string, PendingMinute>();

  constructor(private readonly db: AlarmDb) {}

  readings(batch: TelemetryReadings, arrived: Date): void {
    let sum = 0;
    let max = 0;
    let count = 0;
    if (!batch.historical) {
      for (const r of batch.readings) {
        const latency = arrived.getTime() - Date.parse(r.time);
        if (!Number.isFinite(latency) || latency < 0) continue;
        sum += latency;
        max = Math.max(max, latency);
        count++;
      }
    }
    this.add({
      gatewayId: batch.edgeNodeId,
      minute: minuteOf(arrived),
      messages: 1,
      readings: batch.readings.length,
      latencySumMs: sum,
      latencyMaxMs: max,
      latencyCount: count,
    });
  }

  private add(r: PendingMinute): void {
    const key = `${r.gatewayId}\u0000${r.minute.getTime()}`;
    const row = this.pending.get(key);
    if (!row) {
      this.pending.set(key, { ...r });
      return;
    }
    row.messages += r.messages;
    row.readings += r.readings;
    row.latencySumMs += r.latencySumMs;
    row.latencyMaxMs = Math.max(row.latencyMaxMs, r.latencyMaxMs);
    row.latencyCount += r.latencyCount;
  }

  /** Writes the summed reading batches; on failure they are kept for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.db
        .insertInto('gateway_health')
        .values(
          rows.map((r) => ({
            gateway_id: r.gatewayId,
            minute: r.minute,
            messages: r.messages,
            readings: r.readings,
            latency_sum_ms: r.latencySumMs,
            latency_max_ms: r.latencyMaxMs,
            latency_count: r.latencyCount,
          })),
        )
        .onConflict((oc) =>
          oc.constraint('gateway_health_pk').doUpdateSet({
            messages: sql`gateway_health.messages + excluded.messages`,
            readings: sql`gateway_health.readings + excluded.readings`,
            latency_sum_ms: sql`gateway_health.latency_sum_ms + excluded.latency_sum_ms`,
            latency_max_ms: sql`greatest(gateway_health.latency_max_ms, excluded.latency_max_ms)`,
            latency_count: sql`gateway_health.latency_count + excluded.latency_count`,
          }),
        )
        .execute();
    } catch (error) {
      for (const r of rows) this.add(r);
      throw error;
    }
  }

  async queueDepth(gatewayId: string, depth: number, at: Date): Promise<void> {
    await this.db
      .insertInto('gateway_health')
      .values({ gateway_id: gatewayId, minute: minuteOf(at), queue_depth: depth })
      .onConflict((oc) =>
        oc.constraint('gateway_health_pk').doUpdateSet({
          queue_depth: sql`greatest(coalesce(gateway_health.queue_depth, 0), ${depth})`,
        }),
      )
      .execute();
  }

  /** The last `minutes` minutes that have data, oldest first. */
  async of(gatewayId: string, minutes = 60): Promise<HealthPoint[]> {
    await this.flush();
    const rows = await this.db
      .selectFrom('gateway_health')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('minute', '>=', new Date(Date.now() - minutes * 60_000))
      .orderBy('minute')
      .execute();
    return rows.map((r) => ({
      minute: iso(r.minute),
      messages: r.messages,
      readings: r.readings,
      latencyAvgMs: r.latency_count > 0 ? Number(r.latency_sum_ms) / r.latency_count : null,
      latencyMaxMs: r.latency_count > 0 ? Number(r.latency_max_ms) : null,
      queueDepth: r.queue_depth,
    }));
  }

  async prune(keepMs: number): Promise<void> {
    await this.db
      .deleteFrom('gateway_health')
      .where('minute', '<', new Date(Date.now() - keepMs))
      .execute();
  }
}
