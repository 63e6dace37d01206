import { BitvError, ConflictError, NotFoundError } from '@bitv/shared';
import type { EventStore, EventStoreTransaction } from '@bitv/shared/event-store';
import type { OrderLine } from '@bitv/shared/events';
import { execute, loadOrder } from '../orders/stream.js';
import { authorizePayment, type PaymentStepDeps } from './payment.js';
import type { CheckoutFailure, CheckoutState, CheckoutStep } from './saga.js';
import { lineReference, type StockHolds } from './stock.js';

export interface StepDeps {
  store: EventStore;
  stock: StockHolds;
  /** How long an unconfirmed hold lives if checkout never finishes (the inventory expiry lapses it). */
  holdSeconds: number;
  /** The payments module, read when a checkout runs; absent: checkout takes no payment. */
  payments?: PaymentStepDeps['payments'];
}

/**
 * Reserve every line, all or nothing, in one transaction: a shortfall or an unknown SKU holds
 * nothing. The holds are stored with the step (its closing save); holds made just before a crash
 * (not yet stored) are found again by their references, so no line is reserved twice.
 */
export function reserveLines(deps: StepDeps): CheckoutStep {
  return {
    name: 'reserve',
    async run(ctx) {
      const state = ctx.state;
      // A saga stored while lines were held one by one (before reserveAll) may hold some already.
      const wanted = state.lines.filter((l) => !state.holds[l.lineId]);
      if (wanted.length === 0) return { state };
      const references = wanted.map((l) => lineReference(state.orderId, l.lineId));
      let made: { id: string }[];
      try {
        made = await deps.stock.reserveAll({
          holds: wanted.map((l, i) => ({
            sku: l.sku,
            quantity: l.quantity,
            reference: references[i] as string,
          })),
          ttlSeconds: deps.holdSeconds,
          ownerId: null,
        });
      } catch (error) {
        const reference = error instanceof BitvError ? error.details?.reference : undefined;
        const line = wanted[references.indexOf(reference as string)] ?? (wanted[0] as OrderLine);
        const failure = failureOf(error, line.lineId, line.sku);
        if (!failure) throw error;
        return { state, failure };
      }
      const holds = { ...state.holds };
      wanted.forEach((l, i) => {
        holds[l.lineId] = (made[i] as { id: string }).id;
      });
      return { state: { ...state, holds } };
    },
    async compensate(ctx) {
      let state = ctx.state;
      for (const id of Object.values(state.holds)) {
        if (state.released.includes(id)) continue;
        await deps.stock.release(id);
        state = { ...state, released: [...state.released, id] };
        await ctx.save(state);
      }
      return state;
    },
  };
}

/** The order records its holds (`bv.order.reserved.v1`), unless it was cancelled meanwhile. */
export function recordReserved(deps: StepDeps): CheckoutStep {
  return {
    name: 'record-reserved',
    async run(ctx) {
      const state = ctx.state;
      const order = await loadOrder(deps.store, state.orderId);
      if (order.state.status === 'cancelled') {
        return { state, failure: { code: 'cancelled', reason: 'the order was cancelled during checkout' } };
      }
      const reservations = state.lines.map((l) => ({
        lineId: l.lineId,
        reservationId: state.holds[l.lineId] as string,
      }));
      return {
        state,
        // The order as read above: a cancel since refuses the append (ConcurrencyError, nothing
        // written) and the step runs again on the order as it is then, when the checkout resumes.
        commit: async (tx) => {
          await execute(tx, state.orderId, { kind: 'markReserved', reservations }, { loaded: order });
        },
      };
    },
  };
}

/** The order is confirmed (`bv.order.confirmed.v1`, what fulfilment picks from). */
export function confirmOrder(deps: StepDeps): CheckoutStep {
  return {
    name: 'confirm',
    async run(ctx) {
      const state = ctx.state;
      const order = await loadOrder(deps.store, state.orderId);
      if (order.state.status === 'cancelled') {
        return { state, failure: { code: 'cancelled', reason: 'the order was cancelled during checkout' } };
      }
      // Before the event: a crash in between resumes here and commits again (a no-op), while a
      // confirmed order whose holds could still lapse would lose its units to the expiry sweep.
      await deps.stock.commit(Object.values(state.holds));
      return {
        state: { ...state, outcome: 'confirmed' },
        commit: async (tx) => {
          await execute(
            tx,
            state.orderId,
            { kind: 'confirm', at: new Date().toISOString() },
            { loaded: order },
          );
        },
      };
    },
  };
}

/**
 * Checkout: reserve, record, authorize the payment, confirm. The payment step is always in the
 * list (a no-op without the payments module), so a stored saga's step index means the same step
 * whichever modules the process that resumes it mounts.
 */
export function checkoutSteps(deps: StepDeps): CheckoutStep[] {
  return [
    reserveLines(deps),
    recordReserved(deps),
    authorizePayment({ payments: deps.payments ?? (() => undefined) }),
    confirmOrder(deps),
  ];
}

/**
 * After the compensations: the order is rejected with the failure's reason, in the transaction
 * that closes the saga (a cancelled order stays cancelled).
 */
export async function finishRejected(
  tx: EventStoreTransaction,
  state: CheckoutState,
): Promise<CheckoutState['outcome']> {
  const order = await loadOrder(tx, state.orderId);
  if (order.state.status !== 'placed' && order.state.status !== 'reserved') return 'cancelled';
  const failure = state.failure ?? { code: 'failed', reason: 'checkout failed' };
  await execute(tx, state.orderId, {
    kind: 'reject',
    code: failure.code,
    reason: failure.reason,
    ...(failure.lineId ? { lineId: failure.lineId } : {}),
  });
  return 'rejected';
}

function failureOf(error: unknown, lineId: string, sku: string): CheckoutFailure | undefined {
  if (error instanceof NotFoundError) return { code: 'unknown_sku', reason: `no product ${sku}`, lineId };
  if (error instanceof ConflictError) return { code: 'insufficient_stock', reason: error.message, lineId };
  return undefined;
}
