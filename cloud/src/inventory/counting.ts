import type { TelemetryReadings } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter, Histogram } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import type { CloudDb } from '../db/index.js';
import type { LiveHub } from '../live/hub.js';
import type { BinHealthMonitor, CellFaultChange } from './bin-health.js';
import { SeqHoles } from './seq-holes.js';
import { countSettled, StabilityDetector, type StabilityOptions } from './stability.js';
import {
  type AppliedChange,
  announceChanges,
  applyCountChange,
  queueInventoryEvents,
} from './stock-change.js';
import type { StockFeed } from './stock-feed.js';

interface BinConfig {
  sku: string | null;
  unitWeightG: number | null;
  toleranceG: number;
  tareG: number;
  count: number;
  /** Confidence of the count as the database holds it (low-confidence alerts follow its crossings). */
  confidence: number;
  alignPending: boolean;
  cellFault: boolean;
  /** Time of the last reading in this process that carried the bin's weight. */
  lastWeighedAt?: string;
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
  /** How often a shelf's "last weighed" times are written (the dashboard's staleness resolution). */
  weighedEveryMs: number;
}

export const countingDefaults: CountingOptions = {
  stability: {},
  defaultToleranceG: 5,
  cacheTtlMs: 5_000,
  liveWeightStepG: 1,
  weighedEveryMs: 10_000,
};

/** The shelf link's weight resolution (0.1 g): tares and weights are kept at it, not at float noise. */
export function roundToLink(weightG: number): number {
  return Math.round(weightG * 10) / 10;
}

interface Candidate {
  bin: number;
  count: number;
  confidence: number;
  weightG: number;
  seq: number;
  time: string;
}

export interface CountingMetrics {
  readings: Counter<'outcome'>;
  changes: Counter<'reason'>;
  applySeconds: Histogram<string>;
}

/**
 * Turns shelf weight into stock. Readings at or below the device's last seen seq are not weighed
 * (late backlog readings and duplicates, counted apart: see `classifyOlder`); the rest go through
 * the stability detector in memory. Only when a settled weight means a different count does the
 * database get a transaction: it moves the device's reading watermark past the batch, guarded by
 * "no delivery got there first", and writes the new counts in the same commit, so a replayed or duplicated reading can never change a count twice.
 * Batches that change nothing cost no database work (the dashboard's latency budget); a replay of
 * such readings is harmless, since they are newer than the last change the database holds.
 */
export class Counting {
  private readonly detector: StabilityDetector;
  private readonly shelves = new Map<string, ShelfConfig>();
  private readonly lastLiveWeight = new Map<string, number>();
  /** Highest reading seq seen per device; the database watermark is the authority (see `apply`). */
  private readonly marks = new Map<string, number>();
  /** Seqs jumped over per device, to count a late backlog reading as late, not as a duplicate. */
  private readonly holes = new SeqHoles();
  /** When each shelf's `weighed_at` times were last written (wall clock, ms). */
  private readonly weighedWritten = new Map<string, number>();
  private readonly options: CountingOptions;

  constructor(
    private readonly db: CloudDb,
    private readonly hub: LiveHub,
    private readonly logger: Logger,
    private readonly metrics: CountingMetrics,
    /** Alerts and live state of bins whose count is not current (faulty cell, low confidence). */
    readonly health: BinHealthMonitor,
    /** Count changes told in process to other modules (pick confirmation). */
    readonly feed: StockFeed,
    options: Partial<CountingOptions> = {},
  ) {
    this.options = { ...countingDefaults, ...options };
    this.detector = new StabilityDetector(this.options.stability);
  }

  /**
   * Readings at or below the watermark are never weighed (the stability detector runs forward in
   * the shelf's time, and the count already reflects newer weight), but they are told apart in
   * `bv_cloud_readings_total`: `late` for a backlog reading sent after newer live ones (the agent
   * does that on purpose), `duplicate` for one seen before. Seqs jumped over are remembered.
   */
  private classifyOlder(
    key: string,
    mark: number,
    readings: TelemetryReadings['readings'],
    fresh: number,
  ): void {
    let late = 0;
    let previous = mark;
    for (const r of readings) {
      if (r.seq <= mark) {
        if (this.holes.fill(key, r.seq)) late++;
        continue;
      }
      // No watermark yet (-1): what came before the cloud knew the device is not a hole.
      if (previous >= 0 && r.seq > previous + 1) this.holes.skip(key, previous + 1, r.seq - 1);
      previous = Math.max(previous, r.seq);
    }
    const older = readings.length - fresh;
    if (late > 0) this.metrics.readings.inc({ outcome: 'late' }, late);
    if (older > late) this.metrics.readings.inc({ outcome: 'duplicate' }, older - late);
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
    const markKey = `${batch.edgeNodeId}/${batch.deviceId}`;
    const mark = this.marks.get(markKey) ?? (await this.loadMark(batch.edgeNodeId, batch.deviceId));
    const fresh = batch.readings.filter((r) => r.seq > mark);
    this.classifyOlder(markKey, mark, batch.readings, fresh.length);
    if (fresh.length === 0) return;
    this.marks.set(markKey, (fresh[fresh.length - 1] as (typeof fresh)[number]).seq);
    this.metrics.readings.inc({ outcome: 'counted' }, fresh.length);

    // The fast path, no database work: most readings change no count.
    const candidates: Candidate[] = [];
    const aligned: { bin: number; tareG: number; weightG: number }[] = [];
    const faults: CellFaultChange[] = [];
    const confidences: { bin: number; confidence: number }[] = [];
    const lowConfidence = this.health.options.lowConfidence;
    for (const reading of fresh) {
      const time = Date.parse(reading.time);
      // [SL-READ-2] the agent leaves a bin whose cell reports a fault out of the reading.
      for (const [bin, config] of shelf.bins) {
        const fault = !reading.bins.some((b) => b.bin === bin);
        if (fault === config.cellFault) continue;
        config.cellFault = fault;
        faults.push({
          bin,
          fault,
          ...(fault && config.lastWeighedAt ? { weighedAt: config.lastWeighedAt } : {}),
        });
      }
      for (const b of reading.bins) {
        const config = shelf.bins.get(b.bin);
        if (!config) continue;
        config.lastWeighedAt = reading.time;
        const verdict = this.detector.add(`${batch.deviceId}/${b.bin}`, time, b.weightG, config.toleranceG);
        this.liveWeight(shelf.siteId, batch.deviceId, b.bin, verdict.weightG, verdict.stable, reading.time);
        if (!verdict.stable || config.unitWeightG === null) continue;
        const weightG = roundToLink(verdict.weightG);
        if (config.alignPending) {
          config.tareG = roundToLink(verdict.weightG - config.count * config.unitWeightG);
          config.alignPending = false;
          aligned.push({ bin: b.bin, tareG: config.tareG, weightG });
          continue;
        }
        const { count, confidence } = countSettled(verdict, config.tareG, config.unitWeightG);
        if (count === undefined) continue;
        if (confidence < lowConfidence !== config.confidence < lowConfidence) {
          confidences.push({ bin: b.bin, confidence });
        }
        config.confidence = confidence;
        if (count === config.count) continue;
        config.count = count;
        candidates.push({ bin: b.bin, count, confidence, weightG, seq: reading.seq, time: reading.time });
      }
    }
    // Hardware state is not a count: it is written whatever happens to the counts below.
    await this.health.cellFaults(batch.deviceId, faults);
    await this.health.confidences(batch.deviceId, confidences);
    await this.writeWeighed(batch.deviceId, shelf, fresh[fresh.length - 1]?.time);
    if (candidates.length === 0 && aligned.length === 0) return;

    const lastSeq = this.marks.get(markKey) as number;
    const firstSeq = Math.min(...candidates.map((c) => c.seq), lastSeq);
    const applied = await this.db
      .transaction()
      .execute(async (trx) => {
        // The idempotency guard: the device's watermark moves past these readings in the same
        // commit as the counts they change, and only if no earlier delivery already did.
        const claimed = await trx
          .insertInto('reading_watermarks')
          .values({ edge_node_id: batch.edgeNodeId, device_id: batch.deviceId, last_seq: lastSeq })
          .onConflict((oc) =>
            oc
              .columns(['edge_node_id', 'device_id'])
              .doUpdateSet({ last_seq: lastSeq })
              .where('reading_watermarks.last_seq', '<', sql<string>`${firstSeq}`),
          )
          .returning('last_seq')
          .executeTakeFirst();
        if (!claimed) return undefined;
        for (const a of aligned) {
          await trx
            .updateTable('bins')
            .set({ tare_g: a.tareG, align_pending: false, weight_g: a.weightG })
            .where('shelf_id', '=', batch.deviceId)
            .where('bin', '=', a.bin)
            .execute();
        }
        const changes: AppliedChange[] = [];
        for (const c of candidates) {
          const change = await applyCountChange(trx, {
            shelfId: batch.deviceId,
            bin: c.bin,
            count: c.count,
            confidence: c.confidence,
            reason: 'weight',
            weightG: c.weightG,
            reading: { edgeNodeId: batch.edgeNodeId, deviceId: batch.deviceId, seq: c.seq, time: c.time },
          });
          if (change) changes.push(change);
        }
        await queueInventoryEvents(trx, changes);
        return changes;
      })
      .catch((error: unknown) => {
        this.forget(batch.deviceId, markKey);
        throw error;
      });
    if (applied === undefined) {
      // Another delivery (or another instance) already applied these readings: take its state.
      this.metrics.readings.inc({ outcome: 'already_applied' }, fresh.length);
      this.forget(batch.deviceId, markKey);
      return;
    }
    for (const a of aligned) {
      this.hub.publish({
        type: 'weighed',
        siteId: shelf.siteId,
        shelfId: batch.deviceId,
        bin: a.bin,
        tareG: a.tareG,
      });
    }
    this.metrics.changes.inc({ reason: 'weight' }, applied.length);
    await announceChanges(applied, this.hub, this.db, this.logger, this.feed);
    this.metrics.applySeconds.observe((performance.now() - started) / 1000);
  }

  /**
   * Keeps `weighed_at` of the shelf's working bins to within `weighedEveryMs` of the newest reading
   * (one statement per shelf and period, off the per-reading path), so a shelf that goes silent
   * shows when it was last weighed.
   */
  private async writeWeighed(shelfId: string, shelf: ShelfConfig, time: string | undefined): Promise<void> {
    const now = Date.now();
    if (time === undefined || now - (this.weighedWritten.get(shelfId) ?? 0) < this.options.weighedEveryMs)
      return;
    const bins = [...shelf.bins].filter(([, c]) => !c.cellFault).map(([bin]) => bin);
    if (bins.length === 0) return;
    this.weighedWritten.set(shelfId, now);
    await this.db
      .updateTable('bins')
      .set({ weighed_at: time })
      .where('shelf_id', '=', shelfId)
      .where('bin', 'in', bins)
      .where((eb) => eb.or([eb('weighed_at', 'is', null), eb('weighed_at', '<', new Date(time))]))
      .execute();
  }

  /** Drops cached state that may be ahead of the database (a rolled-back or lost claim). */
  private forget(shelfId: string, markKey: string): void {
    this.invalidate(shelfId);
    this.marks.delete(markKey);
  }

  private async loadMark(edgeNodeId: string, deviceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('reading_watermarks')
      .select('last_seq')
      .where('edge_node_id', '=', edgeNodeId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row ? Number(row.last_seq) : -1;
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
        'bins.confidence',
        'bins.align_pending',
        'bins.cell_fault',
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
      const lastWeighedAt = cached?.bins.get(r.bin)?.lastWeighedAt;
      config.bins.set(r.bin, {
        ...(lastWeighedAt ? { lastWeighedAt } : {}),
        sku: r.sku,
        unitWeightG: r.unit_weight_g,
        toleranceG: r.tolerance_g ?? this.options.defaultToleranceG,
        tareG: r.tare_g,
        count: r.count,
        confidence: r.confidence,
        alignPending: r.align_pending,
        cellFault: r.cell_fault,
      });
    }
    this.shelves.set(shelfId, config);
    return config;
  }
}
