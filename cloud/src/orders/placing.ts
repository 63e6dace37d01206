import { randomUUID } from 'node:crypto';
import { ConcurrencyError, ConflictError, ValidationError } from '@bitv/shared';
import type { Database } from '@bitv/shared/db';
import type { EventStore } from '@bitv/shared/event-store';
import { type BvEvent, type OrderLine, topics } from '@bitv/shared/events';
import { sql } from 'kysely';
import { startCheckouts } from '../checkout/runner.js';
import { newCheckoutState } from '../checkout/saga.js';
import { decide, initialOrderState, OrderRuleError, type OrderStatus } from './model.js';
import { orderRecords, orderStream } from './stream.js';

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

/** One placement on its way into a group commit: the request, its hash and its merged lines. */
export interface Placement {
  input: PlaceOrderInput;
  hash: string;
  lines: OrderLine[];
}

interface Ready {
  index: number;
  p: Placement;
  body: PlacedOrder;
  stored: ReturnType<typeof orderRecords>['stored'];
  published: BvEvent[];
}

export interface PlacingDeps {
  database: Database;
  store: EventStore;
  references: OrderReferences;
}

/**
 * Writes a group of placements in one transaction: their idempotency records (`ON CONFLICT DO
 * NOTHING`: a key taken before, or by a transaction still open, is answered from the stored
 * record after commit), every new order stream in one INSERT, their outbox entries in one, their
 * checkouts in one. SKUs and sites are checked once per group. Each placement gets its own
 * answer: an unknown SKU, a reused key or a conflict fails only its own. If the transaction
 * itself fails, each placement is retried in a transaction of its own, so one bad apple cannot
 * fail the others.
 */
export async function writePlacements(
  deps: PlacingDeps,
  group: readonly Placement[],
): Promise<(PlaceOutcome | Error)[]> {
  const out: (PlaceOutcome | Error | undefined)[] = new Array(group.length);
  const refused = await checkReferences(deps.references, group);
  const ready: Ready[] = [];
  const later: number[] = [];
  const keys = new Set<string>();
  for (const [index, p] of group.entries()) {
    const problem = refused[index];
    if (problem) {
      // A retry of an order placed before the SKU went away still gets its stored answer.
      out[index] = (await replay(deps.database, p).catch((e: unknown) => e as Error)) ?? problem;
      continue;
    }
    const key = p.input.idempotencyKey ? `${p.input.caller}\u0000${p.input.idempotencyKey}` : undefined;
    if (key && keys.has(key)) {
      // The same key twice in one group: the first is written, this one answers from its record.
      later.push(index);
      continue;
    }
    if (key) keys.add(key);
    try {
      ready.push(prepare(index, p));
    } catch (error) {
      out[index] = error as Error;
    }
  }

  let written: Ready[] = [];
  try {
    written = await deps.store.transaction(async (tx) => {
      // Sorted, so two groups in two processes take the keys' row locks in one order (no deadlock).
      const keyed = ready
        .filter((r) => r.p.input.idempotencyKey)
        .sort((a, b) => compareKeys(a.p.input, b.p.input));
      const taken = new Set<number>();
      if (keyed.length > 0) {
        const values = keyed.map(
          (r) =>
            sql`(${r.p.input.caller}, ${r.p.input.idempotencyKey}, ${r.p.hash}, ${r.body.orderId}, 201, ${JSON.stringify(r.body)}::jsonb)`,
        );
        const { rows } = await sql<{ order_id: string }>`
          INSERT INTO order_idempotency (owner, key, request_hash, order_id, status, response)
          VALUES ${sql.join(values)} ON CONFLICT (owner, key) DO NOTHING RETURNING order_id`.execute(tx.sql);
        const won = new Set(rows.map((r) => r.order_id));
        for (const r of keyed) if (!won.has(r.body.orderId)) taken.add(r.index);
      }
      const winners = ready.filter((r) => !taken.has(r.index));
      for (const index of taken) later.push(index);
      if (winners.length === 0) return [];
      const results = await tx.appendEach(
        winners.map((r) => ({
          streamId: orderStream(r.body.orderId),
          expected: 'no_stream',
          events: r.stored,
        })),
      );
      // New random ids cannot clash; if one did, the whole group is retried one by one.
      const clash = results.find((x) => x instanceof ConcurrencyError);
      if (clash) throw clash;
      await tx.publish(
        topics.orders,
        winners.flatMap((r) => r.published),
      );
      await startCheckouts(
        tx,
        winners.map((r) => newCheckoutState(r.body)),
      );
      return winners;
    });
  } catch (error) {
    if (group.length === 1) {
      out[0] = error as Error;
      return out as (PlaceOutcome | Error)[];
    }
    return Promise.all(
      group.map(async (p) => {
        const [one] = await writePlacements(deps, [p]);
        return one ?? new Error('placement gave no answer');
      }),
    );
  }
  for (const r of written) out[r.index] = { status: 201, body: r.body, replayed: false };
  for (const index of later) {
    const p = group[index] as Placement;
    out[index] =
      (await replay(deps.database, p).catch((e: unknown) => e as Error)) ??
      // The record's first writer rolled back: this one is placed on its own.
      ((await writePlacements(deps, [p]))[0] as PlaceOutcome | Error);
  }
  return out as (PlaceOutcome | Error)[];
}

function compareKeys(a: PlaceOrderInput, b: PlaceOrderInput): number {
  const x = `${a.caller}\u0000${a.idempotencyKey}`;
  const y = `${b.caller}\u0000${b.idempotencyKey}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function prepare(index: number, p: Placement): Ready {
  const { input, lines } = p;
  const orderId = randomUUID();
  let events: ReturnType<typeof decide>;
  try {
    events = decide(
      {
        kind: 'place',
        orderId,
        siteId: input.siteId,
        customerId: input.customerId,
        lines,
        by: input.by,
        at: new Date().toISOString(),
      },
      initialOrderState,
    );
  } catch (error) {
    if (error instanceof OrderRuleError && error.rule === 'invalid') throw new ValidationError(error.message);
    throw error;
  }
  const body: PlacedOrder = {
    orderId,
    status: 'placed',
    siteId: input.siteId,
    customerId: input.customerId,
    lines,
  };
  const records = orderRecords(orderId, events, {
    actor: input.by,
    ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
  });
  return { index, p, body, stored: records.stored, published: records.published };
}

/** One look-up for the whole group: every distinct SKU, every distinct site. */
async function checkReferences(
  references: OrderReferences,
  group: readonly Placement[],
): Promise<(ValidationError | undefined)[]> {
  const skus = [...new Set(group.flatMap((p) => p.lines.map((l) => l.sku)))];
  const sites = [...new Set(group.map((p) => p.input.siteId))];
  const [unknown, known] = await Promise.all([
    references.unknownSkus(skus),
    Promise.all(sites.map(async (s) => [s, await references.siteExists(s)] as const)),
  ]);
  const unknownSet = new Set(unknown);
  const siteOk = new Map(known);
  return group.map((p) => {
    if (!siteOk.get(p.input.siteId)) return new ValidationError(`unknown site ${p.input.siteId}`);
    const missing = p.lines.map((l) => l.sku).filter((s) => unknownSet.has(s));
    if (missing.length === 0) return undefined;
    return new ValidationError(`unknown SKU${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      details: { unknownSkus: missing },
    });
  });
}

/** The stored answer for the request's key, if any (another body: IdempotencyMismatchError). */
export async function replay(database: Database, p: Placement): Promise<PlaceOutcome | undefined> {
  const key = p.input.idempotencyKey;
  if (!key) return undefined;
  const { rows } = await sql<{ request_hash: string; status: number; response: PlacedOrder | string }>`
    SELECT request_hash, status, response FROM order_idempotency
    WHERE owner = ${p.input.caller} AND key = ${key}`.execute(database.kysely);
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== p.hash) throw new IdempotencyMismatchError(key);
  const body = typeof row.response === 'string' ? (JSON.parse(row.response) as PlacedOrder) : row.response;
  return { status: row.status, body, replayed: true };
}
