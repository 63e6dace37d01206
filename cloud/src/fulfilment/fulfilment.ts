import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '@bitv/shared';
import {
  type BvEvent,
  createEvent,
  type EventDefinition,
  misPickV1,
  pickCompletedV1,
  pickLineConfirmedV1,
  pickListCreatedV1,
  pickStartedV1,
  type StockChanged,
  shortPickV1,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter, Histogram } from '@bitv/shared/metrics';
import { eventSource } from '../events.js';
import type { LiveHub } from '../live/hub.js';
import type { StockDirectory } from './directory.js';
import type { LightChange, PickLights } from './lights.js';
import {
  decide,
  fold,
  lightsOf,
  type OrderLine,
  type PickCommand,
  type PickEvent,
  type PickState,
  type PickStatus,
} from './model.js';
import { SeenChanges } from './seen-changes.js';
import { type PickStore, StalePickError, type StoredPick } from './store.js';

export interface FulfilmentOptions {
  /** Start the site's next list as soon as none is in progress (a picker waiting at the station). */
  autoStart: boolean;
  /** Stock changes waiting per site at most; beyond, they are dropped and counted. */
  maxQueuedPerSite: number;
}

export const fulfilmentDefaults: FulfilmentOptions = { autoStart: true, maxQueuedPerSite: 1_000 };

export interface FulfilmentMetrics {
  /** Pick events decided, by type. */
  events: Counter<'type'>;
  /** Stock changes dropped (queue full, or failed), by reason. */
  dropped: Counter<'reason'>;
  /** From a stock change reaching fulfilment to its light commands being sent. */
  reactSeconds: Histogram<string>;
}

export interface PickView {
  pickId: string;
  orderId: string;
  siteId: string;
  status: PickStatus;
  lines: PickState['lines'];
  misPicks: PickState['misPicks'];
  createdAt: string;
  updatedAt: string;
}

const toView = (p: StoredPick): PickView => ({
  pickId: p.state.pickId,
  orderId: p.state.orderId,
  siteId: p.state.siteId,
  status: p.state.status,
  lines: p.state.lines,
  misPicks: p.state.misPicks,
  createdAt: p.createdAt,
  updatedAt: p.updatedAt,
});

const retries = 5;

/**
 * Pick-to-light: confirmed orders become pick lists, one list per site is picked at a time, and
 * shelf weight confirms its lines. Each change runs the decider on the stored state, commits it
 * with an expected version, then acts: lights first (the picker is waiting for them), then the
 * `bv.fulfilment` events and the live message.
 *
 * Work for one site runs in order, one change at a time (a per-site queue): stock changes of one
 * shelf arrive in order, and deciding on them concurrently would only make the version check
 * retry.
 */
export class Fulfilment {
  private readonly options: FulfilmentOptions;
  private readonly queues = new Map<string, { tail: Promise<void>; length: number }>();
  private readonly seen = new SeenChanges();
  /** Count changes waiting for the site's current work to finish (decided together). */
  private readonly batches = new Map<string, { changes: StockChanged[]; done: Promise<void> }>();
  private readonly active = new Map<string, StoredPick>();

  constructor(
    private readonly store: PickStore,
    private readonly directory: StockDirectory,
    private readonly lights: PickLights,
    private readonly hub: LiveHub,
    private readonly logger: Logger,
    private readonly metrics: FulfilmentMetrics,
    options: Partial<FulfilmentOptions> = {},
  ) {
    this.options = { ...fulfilmentDefaults, ...options };
  }

  /** A confirmed order's pick list (idempotent: a redelivered confirmation returns the same list). */
  async fromOrder(order: {
    orderId: string;
    siteId: string;
    lines: readonly OrderLine[];
  }): Promise<PickView> {
    if (order.lines.length === 0) throw new ValidationError(`order ${order.orderId} has no lines`);
    const existing = await this.store.byOrder(order.orderId);
    if (existing) return toView(existing);
    const locations = await this.directory.locate(
      order.siteId,
      order.lines.map((l) => l.sku),
    );
    const command: PickCommand = {
      kind: 'create',
      pickId: `pick-${order.orderId}`,
      orderId: order.orderId,
      siteId: order.siteId,
      lines: order.lines,
      locations,
    };
    const events = decide(command, undefined);
    const state = fold(events) as PickState;
    if (await this.store.insert(state, this.eventsOf(state, events))) {
      this.counted(events);
      this.logger.info(
        { pickId: state.pickId, orderId: state.orderId, lines: state.lines.length },
        'pick list created',
      );
      this.live(state, events);
    }
    if (this.options.autoStart) await this.startNext(order.siteId);
    return this.get(state.pickId);
  }

  async get(pickId: string): Promise<PickView> {
    const stored = await this.store.get(pickId);
    if (!stored) throw new NotFoundError(`pick list ${pickId} not found`);
    return toView(stored);
  }

  async byOrder(orderId: string): Promise<PickView | undefined> {
    const stored = await this.store.byOrder(orderId);
    return stored ? toView(stored) : undefined;
  }

  /** The site's pick in progress (what the pick station shows), if any. */
  async current(siteId: string): Promise<PickView | undefined> {
    const stored = await this.store.active(siteId);
    return stored ? toView(stored) : undefined;
  }

  async list(filter: { siteId?: string; status?: PickStatus; limit?: number }): Promise<PickView[]> {
    return (await this.store.list({ ...filter, limit: filter.limit ?? 50 })).map(toView);
  }

  /** The order was cancelled: its list stops (lights off) unless already picked. */
  async cancelOrder(orderId: string, reason: string): Promise<void> {
    const stored = await this.store.byOrder(orderId);
    if (!stored) return;
    await this.serial(stored.state.siteId, async () => {
      const current = await this.store.get(stored.state.pickId);
      if (current) await this.run(current, { kind: 'cancel', reason });
    });
  }

  /** Starts a list: its bins light up. Refused while another list of the site is in progress. */
  async start(pickId: string, startedBy?: string): Promise<PickView> {
    const stored = await this.store.get(pickId);
    if (!stored) throw new NotFoundError(`pick list ${pickId} not found`);
    await this.serial(stored.state.siteId, () => this.startNow(pickId, startedBy));
    return this.get(pickId);
  }

  /**
   * A bin's count changed. Fed by inventory's in-process feed (the short path, same process) and
   * by `bv.inventory` from the event log (any process); the log's copy of a change the feed
   * delivered is skipped, and the decider ignores one it has already applied (counts are
   * absolute). Only weight moves units off a shelf: adjustments and cycle counts pick nothing.
   */
  onStockChange(change: StockChanged): Promise<void> {
    if (change.reason !== 'weight' || !this.seen.firstTime(change)) return Promise.resolve();
    // Changes that arrive while the site's earlier work runs are decided together in one batch:
    // one read, one write, one round of light commands (several bins settle within a moment of
    // each other when a picker works fast, and each would otherwise wait for the others' commands).
    const waiting = this.batches.get(change.siteId);
    if (waiting && waiting.changes.length < this.options.maxQueuedPerSite) {
      waiting.changes.push(change);
      return waiting.done;
    }
    const batch: { changes: StockChanged[]; done: Promise<void> } = {
      changes: [change],
      done: Promise.resolve(),
    };
    const received = performance.now();
    batch.done = this.serial(change.siteId, async () => {
      if (this.batches.get(change.siteId) === batch) this.batches.delete(change.siteId);
      const active = this.active.get(change.siteId) ?? (await this.store.active(change.siteId));
      if (!active) return;
      const commands: PickCommand[] = batch.changes.map((c) => ({
        kind: 'stock',
        shelfId: c.shelfId,
        bin: c.bin,
        sku: c.sku,
        previousCount: c.previousCount,
        count: c.count,
        alertId: randomUUID(),
      }));
      if (await this.run(active, commands))
        this.metrics.reactSeconds.observe((performance.now() - received) / 1000);
    }).catch((error: unknown) => {
      if (this.batches.get(change.siteId) === batch) this.batches.delete(change.siteId);
      this.metrics.dropped.inc(
        { reason: error instanceof QueueFullError ? 'queue_full' : 'failed' },
        batch.changes.length,
      );
      throw error;
    });
    this.batches.set(change.siteId, batch);
    return batch.done;
  }

  private async startNow(pickId: string, startedBy?: string): Promise<void> {
    const stored = await this.store.get(pickId);
    if (stored?.state.status !== 'open') return;
    const active = await this.store.active(stored.state.siteId);
    if (active)
      throw new ValidationError(
        `pick list ${active.state.pickId} is in progress at site ${stored.state.siteId}`,
      );
    const counts = await this.directory.counts(stored.state.siteId);
    await this.run(stored, { kind: 'start', counts, ...(startedBy ? { startedBy } : {}) });
  }

  /** Starts the site's oldest waiting list when none is in progress. */
  private async startNext(siteId: string): Promise<void> {
    await this.serial(siteId, async () => {
      if (await this.store.active(siteId)) return;
      const next = await this.store.nextOpen(siteId);
      if (next) await this.startNow(next.state.pickId, 'auto');
    });
  }

  /**
   * Decides each command in turn on the state the previous ones left, commits once with the
   * expected version (re-reading and deciding again on a concurrent writer), then acts.
   * Returns whether anything was decided.
   */
  private async run(stored: StoredPick, commands: PickCommand | readonly PickCommand[]): Promise<boolean> {
    const list = Array.isArray(commands) ? commands : [commands as PickCommand];
    let current: StoredPick | undefined = stored;
    for (let attempt = 0; attempt < retries && current; attempt++) {
      const events: PickEvent[] = [];
      let next: PickState = current.state;
      for (const command of list) {
        const decided = decide(command, next);
        events.push(...decided);
        next = fold(decided, next) as PickState;
      }
      if (events.length === 0) return false;
      try {
        const version = await this.store.update(next, current.version, this.eventsOf(next, events));
        this.remember({ ...current, state: next, version });
      } catch (error) {
        if (!(error instanceof StalePickError)) throw error;
        this.active.delete(stored.state.siteId);
        current = await this.store.get(stored.state.pickId);
        continue;
      }
      await this.act(current.state, next, events);
      return true;
    }
    throw new StalePickError(`pick list ${stored.state.pickId} kept changing; not applied`);
  }

  /**
   * The site's pick in progress as this process last wrote it, saving a read per count change.
   * Another instance may have moved it on: the write's version check then fails and it is re-read.
   */
  private remember(pick: StoredPick): void {
    if (pick.state.status === 'picking') this.active.set(pick.state.siteId, pick);
    else if (this.active.get(pick.state.siteId)?.state.pickId === pick.state.pickId)
      this.active.delete(pick.state.siteId);
  }

  private async act(before: PickState, after: PickState, events: readonly PickEvent[]): Promise<void> {
    const was = lightsOf(before);
    const now = lightsOf(after);
    const changes: LightChange[] = [];
    for (const [key, light] of now) {
      if ((was.get(key) ?? 'off') !== light) changes.push({ ...splitKey(key), light });
    }
    for (const [key, light] of was) {
      if (!now.has(key) && light !== 'off') changes.push({ ...splitKey(key), light: 'off' });
    }
    this.counted(events);
    this.live(after, events);
    await this.lights.apply(changes, `fulfilment:${after.pickId}`);
    const ended = after.status === 'picked' || after.status === 'short' || after.status === 'cancelled';
    if (ended && before.status === 'picking') {
      this.logger.info({ pickId: after.pickId, orderId: after.orderId, status: after.status }, 'pick ended');
      if (this.options.autoStart) {
        // Runs after the current queued change: the next list waits for this one's commit.
        void this.startNext(after.siteId).catch((error: unknown) =>
          this.logger.warn({ err: error, siteId: after.siteId }, 'starting the next pick failed'),
        );
      }
    }
  }

  private counted(events: readonly PickEvent[]): void {
    for (const e of events) this.metrics.events.inc({ type: e.type });
  }

  /** The `bv.fulfilment` events of decided pick events, queued in the outbox with the state they led to. */
  private eventsOf(state: PickState, events: readonly PickEvent[]): BvEvent[] {
    const published: BvEvent[] = [];
    const base = { pickId: state.pickId, orderId: state.orderId, siteId: state.siteId };
    const event = <T>(definition: EventDefinition<T>, data: T) =>
      published.push(createEvent(definition, { source: eventSource, key: state.orderId, data }));
    for (const e of events) {
      const line = 'lineId' in e ? state.lines.find((l) => l.lineId === e.lineId) : undefined;
      switch (e.type) {
        case 'created':
          event(pickListCreatedV1, {
            ...base,
            lines: e.lines.map((l) => ({
              lineId: l.lineId,
              sku: l.sku,
              quantity: l.quantity,
              shelfId: l.shelfId,
              bin: l.bin,
            })),
          });
          break;
        case 'started':
          event(pickStartedV1, { ...base, ...(e.startedBy ? { startedBy: e.startedBy } : {}) });
          break;
        case 'confirmed':
          if (line?.shelfId != null && line.bin !== null)
            event(pickLineConfirmedV1, {
              ...base,
              lineId: line.lineId,
              sku: line.sku,
              quantity: line.quantity,
              shelfId: line.shelfId,
              bin: line.bin,
            });
          break;
        case 'short':
          if (line)
            event(shortPickV1, {
              ...base,
              lineId: line.lineId,
              sku: line.sku,
              quantity: line.quantity,
              available: e.available,
              shelfId: line.shelfId,
              bin: line.bin,
            });
          break;
        case 'mis-picked':
          event(misPickV1, {
            ...base,
            shelfId: e.alert.shelfId,
            bin: e.alert.bin,
            sku: e.alert.sku,
            taken: e.alert.taken,
            ...(e.alert.lineId ? { lineId: e.alert.lineId } : {}),
            alertId: e.alert.alertId,
            message: `${e.alert.taken} unit(s) taken from ${e.alert.shelfId} bin ${e.alert.bin}, which pick ${state.pickId} does not want: put them back`,
          });
          break;
        case 'completed':
          event(pickCompletedV1, {
            ...base,
            lines: state.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
            completedAt: new Date().toISOString(),
          });
          break;
        default:
          // progressed and the mis-pick follow-ups are live-only: the station shows them.
          break;
      }
    }
    return published;
  }

  /** The station's live view: sent before the light commands (it costs nothing and shows at once). */
  private live(state: PickState, events: readonly PickEvent[]): void {
    const base = { pickId: state.pickId, orderId: state.orderId, siteId: state.siteId };
    const last = events[events.length - 1];
    this.hub.publish({
      type: 'pick',
      ...base,
      status: state.status,
      change: last?.type ?? 'none',
      lines: state.lines.map((l) => ({
        lineId: l.lineId,
        sku: l.sku,
        quantity: l.quantity,
        taken: l.taken,
        status: l.status,
        shelfId: l.shelfId,
        bin: l.bin,
      })),
      misPicks: state.misPicks.map((m) => ({
        alertId: m.alertId,
        shelfId: m.shelfId,
        bin: m.bin,
        taken: m.taken,
      })),
    });
  }

  /** Runs `work` after the site's earlier work, with a bounded queue. */
  private serial(siteId: string, work: () => Promise<void>): Promise<void> {
    const queue = this.queues.get(siteId) ?? { tail: Promise.resolve(), length: 0 };
    if (queue.length >= this.options.maxQueuedPerSite)
      return Promise.reject(new QueueFullError(`fulfilment queue of site ${siteId} is full`));
    queue.length++;
    const run = queue.tail.then(work);
    queue.tail = run
      .catch(() => {
        // The caller gets this error through `run`; the queue itself just moves on.
      })
      .finally(() => {
        queue.length--;
        if (queue.length === 0 && this.queues.get(siteId) === queue) this.queues.delete(siteId);
      });
    this.queues.set(siteId, queue);
    return run;
  }
}

export class QueueFullError extends Error {}

function splitKey(key: string): { shelfId: string; bin: number } {
  const at = key.lastIndexOf('/');
  return { shelfId: key.slice(0, at), bin: Number(key.slice(at + 1)) };
}
