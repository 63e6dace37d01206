import type { EventLog } from '@bitv/shared/event-log';
import type { TelemetryReadings } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter, Histogram } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import type { CloudDb } from '../db/index.js';
import type { LiveHub } from '../live/hub.js';
import { countFromWeight, StabilityDetector, type StabilityOptions } from './stability.js';
import { type AppliedChange, announceChange, applyCountChange } from './stock-change.js';

interface BinConfig {
  sku: string | null;
  unitWeightG: number | null;
  toleranceG: number;
  tareG: number;
  count: number;
  alignPending: boolean;
}

interface ShelfConfig {
  siteId: string;
  gatewayId: string;
  bins: Map<number, BinConfig>;
  loadedAt: number;
}

export interface CountingOptions {
  stability: Partial<StabilityOptions>;
  /** Band for bins without a product (the weight is still tracked and shown). */
  defaultToleranceG: number;
  /** How long a shelf's bin settings are cached before being read again (another instance may change them). */
  cacheTtlMs: number;
  /** Smallest weight change worth a live `weight` message. */
  liveWeightStepG: number;
}

export const countingDefaults: CountingOptions = {
  stability: {},
  defaultToleranceG: 5,
  cacheTtlMs: 5_000,
  liveWeightStepG: 1,
};

export interface CountingMetrics {
  readings: Counter<'outcome'>;
  changes: Counter<'reason'>;
  applySeconds: Histogram<string>;
}

/**
 * Turns shelf weight into stock. For each `bv.telemetry` batch, in one transaction: the device's
 * reading watermark (last seq counted) is locked, readings at or below it are dropped as replays
 * or duplicates, the rest go through the stability detector, and each bin whose settled weight
 * means a different count gets its new count; the watermark moves to the batch's last seq in the
 * same commit, so a replayed or duplicated reading can never change a count twice.
 */
export class Counting {
  private readonly detector: StabilityDetector;
  private readonly shelves = new Map<string, ShelfConfig>();
  private readonly lastLiveWeight = new Map<string, number>();
  private readonly options: CountingOptions;

  constructor(
    private readonly db: CloudDb,
    private readonly hub: LiveHub,
    private readonly eventLog: EventLog,
    private readonly logger: Logger,
    private readonly metrics: CountingMetrics,
    options: Partial<CountingOptions> = {},
  ) {
    this.options = { ...countingDefaults, ...options };
    this.detector = new StabilityDetector(this.options.stability);
  }

  /** Drops cached bin settings after an assignment, adjustment or cycle count. */
  invalidate(shelfId?: string): void {
    if (shelfId) this.shelves.delete(shelfId);
    else this.shelves.clear();
  }

  async apply(batch: TelemetryReadings): Promise<void> {
    const started = performance.now();
    const shelf = await this.shelfConfig(batch.deviceId);
    if (!shelf) {
      this.metrics.readings.inc({ outcome: 'unknown_device' }, batch.readings.length);
      return;
    }
    if (shelf.gatewayId !== batch.edgeNodeId) {
      // The broker's ACL keeps a gateway to its own edge node id, not to its own devices.
      this.metrics.readings.inc({ outcome: 'foreign_device' }, batch.readings.length);
      this.logger.warn(
        { edgeNodeId: batch.edgeNodeId, deviceId: batch.deviceId },
        'readings for a shelf of another gateway dropped',
      );
      return;
    }
    const applied = await this.db
      .transaction()
      .execute(async (trx) => {
        await trx
          .insertInto('reading_watermarks')
          .values({ edge_node_id: batch.edgeNodeId, device_id: batch.deviceId, last_seq: -1 })
          .onConflict((oc) => oc.columns(['edge_node_id', 'device_id']).doNothing())
          .execute();
        const mark = await trx
          .selectFrom('reading_watermarks')
          .select('last_seq')
          .where('edge_node_id', '=', batch.edgeNodeId)
          .where('device_id', '=', batch.deviceId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const lastSeq = Number(mark.last_seq);
        const fresh = batch.readings.filter((r) => r.seq > lastSeq);
        this.metrics.readings.inc({ outcome: 'duplicate' }, batch.readings.length - fresh.length);
        this.metrics.readings.inc({ outcome: 'counted' }, fresh.length);
        if (fresh.length === 0) return [];
        const changes: AppliedChange[] = [];
        for (const reading of fresh) {
          const time = Date.parse(reading.time);
          for (const b of reading.bins) {
            const config = shelf.bins.get(b.bin);
            if (!config) continue;
            const key = `${batch.deviceId}/${b.bin}`;
            const verdict = this.detector.add(key, time, b.weightG, config.toleranceG);
            this.liveWeight(
              shelf.siteId,
              batch.deviceId,
              b.bin,
              verdict.weightG,
              verdict.stable,
              reading.time,
            );
            if (!verdict.stable || config.unitWeightG === null) continue;
            if (config.alignPending) {
              config.tareG = verdict.weightG - config.count * config.unitWeightG;
              config.alignPending = false;
              await trx
                .updateTable('bins')
                .set({
                  tare_g: config.tareG,
                  align_pending: false,
                  weight_g: Math.round(verdict.weightG * 10) / 10,
                })
                .where('shelf_id', '=', batch.deviceId)
                .where('bin', '=', b.bin)
                .execute();
              continue;
            }
            const { count, confidence } = countFromWeight(verdict.weightG, config.tareG, config.unitWeightG);
            if (count === config.count) continue;
            const change = await applyCountChange(trx, {
              shelfId: batch.deviceId,
              bin: b.bin,
              count,
              confidence,
              reason: 'weight',
              weightG: Math.round(verdict.weightG * 10) / 10,
              reading: {
                edgeNodeId: batch.edgeNodeId,
                deviceId: batch.deviceId,
                seq: reading.seq,
                time: reading.time,
              },
            });
            config.count = count;
            if (change) changes.push(change);
          }
        }
        const newest = fresh[fresh.length - 1]?.seq ?? lastSeq;
        await trx
          .updateTable('reading_watermarks')
          .set({ last_seq: sql<string>`greatest(last_seq, ${newest})` })
          .where('edge_node_id', '=', batch.edgeNodeId)
          .where('device_id', '=', batch.deviceId)
          .execute();
        return changes;
      })
      .catch((error: unknown) => {
        // The cached counts may have moved ahead of what rolled back; read them again next time.
        this.invalidate(batch.deviceId);
        throw error;
      });
    for (const change of applied) {
      this.metrics.changes.inc({ reason: 'weight' });
      await announceChange(change, this.hub, this.eventLog, this.logger);
    }
    this.metrics.applySeconds.observe((performance.now() - started) / 1000);
  }

  private liveWeight(
    siteId: string,
    shelfId: string,
    bin: number,
    weightG: number,
    stable: boolean,
    readingTime: string,
  ): void {
    const key = `${shelfId}/${bin}`;
    const last = this.lastLiveWeight.get(key);
    if (last !== undefined && Math.abs(last - weightG) < this.options.liveWeightStepG) return;
    this.lastLiveWeight.set(key, weightG);
    this.hub.publish({
      type: 'weight',
      siteId,
      shelfId,
      bin,
      weightG: Math.round(weightG * 10) / 10,
      stable,
      readingTime,
    });
  }

  private async shelfConfig(shelfId: string): Promise<ShelfConfig | undefined> {
    const cached = this.shelves.get(shelfId);
    if (cached && Date.now() - cached.loadedAt < this.options.cacheTtlMs) return cached;
    const rows = await this.db
      .selectFrom('bins')
      .innerJoin('shelves', 'shelves.id', 'bins.shelf_id')
      .leftJoin('products', 'products.sku', 'bins.sku')
      .select([
        'shelves.site_id',
        'shelves.gateway_id',
        'bins.bin',
        'bins.sku',
        'bins.tare_g',
        'bins.count',
        'bins.align_pending',
        'products.unit_weight_g',
        'products.tolerance_g',
      ])
      .where('bins.shelf_id', '=', shelfId)
      .execute();
    const first = rows[0];
    if (!first) {
      this.shelves.delete(shelfId);
      return undefined;
    }
    const config: ShelfConfig = {
      siteId: first.site_id,
      gatewayId: first.gateway_id,
      bins: new Map(),
      loadedAt: Date.now(),
    };
    for (const r of rows) {
      config.bins.set(r.bin, {
        sku: r.sku,
        unitWeightG: r.unit_weight_g,
        toleranceG: r.tolerance_g ?? this.options.defaultToleranceG,
        tareG: r.tare_g,
        count: r.count,
        alignPending: r.align_pending,
      });
    }
    this.shelves.set(shelfId, config);
    return config;
  }
}
