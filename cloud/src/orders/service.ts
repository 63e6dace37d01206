import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@bitv/shared';
import { type Database, GroupCommit } from '@bitv/shared/db';
import type { EventStore } from '@bitv/shared/event-store';
import type { OrderLine } from '@bitv/shared/events';
import {
  type ActorRole,
  type OrderCommand,
  OrderRuleError,
  type OrderState,
  type OrderStatus,
} from './model.js';
import {
  type OrderReferences,
  type Placement,
  type PlaceOrderInput,
  type PlaceOutcome,
  writePlacements,
} from './placing.js';
import { execute, loadOrder } from './stream.js';

export {
  IdempotencyMismatchError,
  type OrderReferences,
  type PlacedOrder,
  type PlaceOrderInput,
  type PlaceOutcome,
} from './placing.js';

/** How placements are grouped into transactions (see `group-commit.ts`). */
export interface PlacingSettings {
  /** Placements written in one transaction at most. */
  maxBatch: number;
  /** Group transactions open at once (their order-lock tails still run one at a time). */
  maxInFlight: number;
}

export const placingDefaults: PlacingSettings = { maxBatch: 200, maxInFlight: 2 };

/**
 * Places orders and applies the commands after checkout (pick progress, packing, shipping,
 * cancelling). Placing writes, in one transaction, the order's first event, its `bv.orders`
 * outbox entry, its checkout and the idempotency record: a retry never finds half of them.
 * Placements arriving together share that transaction (group commit, `placing.ts`).
 */
export class OrderService {
  constructor(
    database: Database,
    private readonly store: EventStore,
    references: OrderReferences,
    private readonly onPlaced: (orderId: string) => void = () => {},
    private readonly releaseHolds: (reservationIds: readonly string[]) => Promise<void> = async () => {},
    settings: Partial<PlacingSettings> = {},
  ) {
    const deps = { database, store, references };
    this.placing = new GroupCommit((group: readonly Placement[]) => writePlacements(deps, group), {
      ...placingDefaults,
      ...settings,
    });
  }

  private readonly placing: GroupCommit<Placement, PlaceOutcome>;

  async place(input: PlaceOrderInput): Promise<PlaceOutcome> {
    const outcome = await this.placing.submit({
      input,
      hash: requestHash(input),
      lines: mergeLines(input.lines),
    });
    if (!outcome.replayed) this.onPlaced(outcome.body.orderId);
    return outcome;
  }

  /** Applies a command to an existing order (OrderRuleError mapped to 404/409). */
  async apply(orderId: string, command: OrderCommand): Promise<OrderStatus> {
    try {
      const result = await this.store.transaction((tx) => execute(tx, orderId, command));
      return result.state.status === 'none' ? 'placed' : result.state.status;
    } catch (error) {
      throw mapRuleError(error);
    }
  }

  /**
   * Cancels, then releases the holds the order recorded (a checkout still running releases its
   * own when it finds the order cancelled). Releasing is idempotent, so a retried cancel that
   * finds the order cancelled releases again rather than leaving a hold behind.
   */
  async cancel(orderId: string, by: string, role: ActorRole, reason: string): Promise<OrderStatus> {
    let state: OrderState;
    try {
      const result = await this.store.transaction((tx) =>
        execute(tx, orderId, { kind: 'cancel', by, role, reason, at: new Date().toISOString() }),
      );
      state = result.state;
    } catch (error) {
      const loaded = await loadOrder(this.store, orderId);
      if (loaded.state.status !== 'cancelled') throw mapRuleError(error);
      state = loaded.state;
    }
    if (state.status !== 'none') await this.releaseHolds(state.reservations.map((r) => r.reservationId));
    return 'cancelled';
  }

  /** The order as its stream says now (read-your-writes, unlike the read models). */
  async current(orderId: string) {
    const loaded = await loadOrder(this.store, orderId);
    if (loaded.state.status === 'none') throw new NotFoundError(`order ${orderId} not found`);
    return { ...loaded, state: loaded.state };
  }
}

/** Lines get ids `1..n` in the order given; one SKU on several lines is one line of their sum. */
export function mergeLines(lines: readonly { sku: string; quantity: number }[]): OrderLine[] {
  const bySku = new Map<string, number>();
  for (const l of lines) bySku.set(l.sku, (bySku.get(l.sku) ?? 0) + l.quantity);
  return [...bySku].map(([sku, quantity], i) => ({ lineId: String(i + 1), sku, quantity }));
}

/** The hash of what makes two requests the same order: site, customer and lines. */
function requestHash(input: PlaceOrderInput): string {
  const canonical = JSON.stringify({
    siteId: input.siteId,
    customerId: input.customerId,
    lines: input.lines.map((l) => [l.sku, l.quantity]),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function mapRuleError(error: unknown): unknown {
  if (!(error instanceof OrderRuleError)) return error;
  if (error.rule === 'not_found') return new NotFoundError(error.message);
  if (error.rule === 'invalid') return new ValidationError(error.message);
  return new ConflictError(error.message, { details: { rule: error.rule } });
}
