import type { EventStoreTransaction } from '@bitv/shared/event-store';
import type { OrderLine } from '@bitv/shared/events';

/**
 * The checkout process manager's state, stored with every step it finishes (and inside a step,
 * after every effect outside this database), so a restarted process resumes where it stopped.
 */
export interface CheckoutState {
  orderId: string;
  siteId: string;
  customerId: string;
  lines: OrderLine[];
  /** Line id -> reservation id, recorded as each hold is made. */
  holds: Record<string, string>;
  /** Reservation ids a compensation has released. */
  released: string[];
  /** Steps whose compensation has finished (each runs once). */
  compensated: string[];
  failure?: CheckoutFailure;
  outcome?: 'confirmed' | 'rejected' | 'cancelled';
}

export interface CheckoutFailure {
  /** unknown_sku, insufficient_stock, cancelled, ... (the rejection's code). */
  code: string;
  reason: string;
  lineId?: string;
}

export type SagaStatus = 'running' | 'compensating' | 'done';

export interface StepContext {
  readonly state: CheckoutState;
  /** Stores progress made inside the step (an effect elsewhere, like one line's hold). */
  save(state: CheckoutState): Promise<void>;
}

export type StepResult =
  | {
      state: CheckoutState;
      /** Written in the transaction that records the step as done (an order event, say). */
      commit?: (tx: EventStoreTransaction) => Promise<void>;
    }
  | { state: CheckoutState; failure: CheckoutFailure };

/**
 * One step of checkout, as data: the runner walks the list, stores the state after each, and on a
 * failure runs the `compensate` of the failed step and of every step before it, last first.
 * `run` and `compensate` may be called again after a crash: they must skip what `state` records
 * as done and use idempotent effects (a hold's reference is the order and line). A payment step
 * (the payments issue) is one more entry before `confirm`, with its refund as `compensate`.
 */
export interface CheckoutStep {
  name: string;
  run(ctx: StepContext): Promise<StepResult>;
  compensate?(ctx: StepContext): Promise<CheckoutState>;
}

/** Where a crash can stop a checkout; a hook sees each as it is passed (logs, tests). */
export interface CheckoutBoundary {
  orderId: string;
  step: string;
  phase: 'before' | 'progress' | 'after' | 'failed' | 'compensated' | 'done';
}

export function newCheckoutState(order: {
  orderId: string;
  siteId: string;
  customerId: string;
  lines: OrderLine[];
}): CheckoutState {
  return {
    orderId: order.orderId,
    siteId: order.siteId,
    customerId: order.customerId,
    lines: order.lines,
    holds: {},
    released: [],
    compensated: [],
  };
}
