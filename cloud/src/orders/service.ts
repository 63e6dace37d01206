import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@bitv/shared';
import type { Database } from '@bitv/shared/db';
import type { EventStore } from '@bitv/shared/event-store';
import type { OrderLine } from '@bitv/shared/events';
import { sql } from 'kysely';
import { startCheckout } from '../checkout/runner.js';
import { newCheckoutState } from '../checkout/saga.js';
import {
  type ActorRole,
  type OrderCommand,
  OrderRuleError,
  type OrderState,
  type OrderStatus,
} from './model.js';
import { execute, loadOrder } from './stream.js';

/** Whether the things an order names exist (the catalog's SKUs, the registry's sites). */
export interface OrderReferences {
  /** The SKUs of `skus` that are not products. */
  unknownSkus(skus: readonly string[]): Promise<string[]>;
  siteExists(siteId: string): Promise<boolean>;
}

export interface PlaceOrderInput {
  siteId: string;
  customerId: string;
  lines: { sku: string; quantity: number }[];
  /** Who placed it (`user:<id>`), for the event. */
  by: string;
  /** Scope of the idempotency key: the caller (a key is unique per caller, not globally). */
  caller: string;
  idempotencyKey?: string;
}

export interface PlacedOrder {
  orderId: string;
  status: OrderStatus;
  siteId: string;
  customerId: string;
  lines: OrderLine[];
}

export interface PlaceOutcome {
  status: number;
  body: PlacedOrder;
  /** True when the answer is the stored one of an earlier request with the same key. */
  replayed: boolean;
}

/** Same key, other body: the request is not a retry of the first one (422 at the API). */
export class IdempotencyMismatchError extends ConflictError {
  constructor(key: string) {
    super(`Idempotency-Key ${key} was used with another request body`, {
      details: { reason: 'idempotency_key_reused' },
    });
  }
}

/**
 * Places orders and applies the commands after checkout (pick progress, packing, shipping,
 * cancelling). Placing writes, in one transaction, the order's first event, its `bv.orders`
 * outbox entry, its checkout and the idempotency record: a retry never finds half of them.
 */
export class OrderService {
  constructor(
    private readonly database: Database,
    private readonly store: EventStore,
    private readonly references: OrderReferences,
    private readonly onPlaced: (orderId: string) => void = () => {},
    private readonly releaseHolds: (reservationIds: readonly string[]) => Promise<void> = async () => {},
  ) {}

  async place(input: PlaceOrderInput): Promise<PlaceOutcome> {
    const hash = requestHash(input);
    if (input.idempotencyKey) {
      const earlier = await this.stored(input.caller, input.idempotencyKey, hash);
      if (earlier) return earlier;
    }
    const lines = mergeLines(input.lines);
    const [unknown, site] = await Promise.all([
      this.references.unknownSkus(lines.map((l) => l.sku)),
      this.references.siteExists(input.siteId),
    ]);
    if (!site) throw new ValidationError(`unknown site ${input.siteId}`);
    if (unknown.length > 0) {
      throw new ValidationError(`unknown SKU${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
        details: { unknownSkus: unknown },
      });
    }
    const orderId = randomUUID();
    const command: OrderCommand = {
      kind: 'place',
      orderId,
      siteId: input.siteId,
      customerId: input.customerId,
      lines,
      by: input.by,
      at: new Date().toISOString(),
    };
    const body: PlacedOrder = {
      orderId,
      status: 'placed',
      siteId: input.siteId,
      customerId: input.customerId,
      lines,
    };
    try {
      await this.store.transaction(async (tx) => {
        await execute(tx, orderId, command, {
          actor: input.by,
          ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        });
        await startCheckout(tx, newCheckoutState(body));
        if (input.idempotencyKey) {
          await sql`INSERT INTO order_idempotency (owner, key, request_hash, order_id, status, response)
            VALUES (${input.caller}, ${input.idempotencyKey}, ${hash}, ${orderId}, 201, ${JSON.stringify(body)}::jsonb)`.execute(
            tx.sql,
          );
        }
      });
    } catch (error) {
      if (error instanceof OrderRuleError && error.rule === 'invalid')
        throw new ValidationError(error.message);
      // Two requests with one key at once: the second loses on the key's primary key; its answer
      // is the first one's (or 422 if its body differs).
      if (input.idempotencyKey && isUniqueViolation(error)) {
        const earlier = await this.stored(input.caller, input.idempotencyKey, hash);
        if (earlier) return earlier;
      }
      throw error;
    }
    this.onPlaced(orderId);
    return { status: 201, body, replayed: false };
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

  private async stored(caller: string, key: string, hash: string): Promise<PlaceOutcome | undefined> {
    const { rows } = await sql<{ request_hash: string; status: number; response: PlacedOrder | string }>`
      SELECT request_hash, status, response FROM order_idempotency WHERE owner = ${caller} AND key = ${key}`.execute(
      this.database.kysely,
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.request_hash !== hash) throw new IdempotencyMismatchError(key);
    const body = typeof row.response === 'string' ? (JSON.parse(row.response) as PlacedOrder) : row.response;
    return { status: row.status, body, replayed: true };
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

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || /duplicate key|unique constraint/i.test(String((error as Error)?.message));
}

export function mapRuleError(error: unknown): unknown {
  if (!(error instanceof OrderRuleError)) return error;
  if (error.rule === 'not_found') return new NotFoundError(error.message);
  if (error.rule === 'invalid') return new ValidationError(error.message);
  return new ConflictError(error.message, { details: { rule: error.rule } });
}
