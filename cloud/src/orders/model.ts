import type {
  OrderCancelled,
  OrderConfirmed,
  OrderLine,
  OrderPlaced,
  OrderProgress,
  OrderRejected,
  OrderReserved,
  OrderReturned,
  OrderShipped,
} from '@bitv/shared/events';

/** The `bv.order.*` event types as literals (the definitions' `type` is a plain string). */
export const orderType = {
  placed: 'bv.order.placed.v1',
  reserved: 'bv.order.reserved.v1',
  rejected: 'bv.order.rejected.v1',
  confirmed: 'bv.order.confirmed.v1',
  picking: 'bv.order.picking.v1',
  picked: 'bv.order.picked.v1',
  packed: 'bv.order.packed.v1',
  shipped: 'bv.order.shipped.v1',
  cancelled: 'bv.order.cancelled.v1',
  returned: 'bv.order.returned.v1',
} as const;

/**
 * The Order aggregate as a decider: `decide(command, state)` gives the events a command causes
 * (or throws an `OrderRuleError`), `evolve(state, event)` folds one event in. The events are the
 * `bv.order.*` types themselves, so what is stored in `order-<id>` is what `bv.orders` carries.
 */
export type OrderStatus =
  | 'placed'
  | 'reserved'
  | 'rejected'
  | 'confirmed'
  | 'picking'
  | 'picked'
  | 'packed'
  | 'shipped'
  | 'cancelled'
  | 'returned';

export const orderStatuses: readonly OrderStatus[] = [
  'placed',
  'reserved',
  'rejected',
  'confirmed',
  'picking',
  'picked',
  'packed',
  'shipped',
  'cancelled',
  'returned',
];

export type OrderEvent =
  | { type: typeof orderType.placed; data: OrderPlaced }
  | { type: typeof orderType.reserved; data: OrderReserved }
  | { type: typeof orderType.rejected; data: OrderRejected }
  | { type: typeof orderType.confirmed; data: OrderConfirmed }
  | { type: typeof orderType.picking; data: OrderProgress }
  | { type: typeof orderType.picked; data: OrderProgress }
  | { type: typeof orderType.packed; data: OrderProgress }
  | { type: typeof orderType.shipped; data: OrderShipped }
  | { type: typeof orderType.cancelled; data: OrderCancelled }
  | { type: typeof orderType.returned; data: OrderReturned };

export const orderEventTypes: readonly OrderEvent['type'][] = [
  orderType.placed,
  orderType.reserved,
  orderType.rejected,
  orderType.confirmed,
  orderType.picking,
  orderType.picked,
  orderType.packed,
  orderType.shipped,
  orderType.cancelled,
  orderType.returned,
];

/** Who acts on an order: the shopper it belongs to, staff of its site, or the platform (the saga). */
export type ActorRole = 'customer' | 'staff' | 'system';

export type OrderCommand =
  | {
      kind: 'place';
      orderId: string;
      siteId: string;
      customerId: string;
      lines: OrderLine[];
      by: string;
      at: string;
    }
  | { kind: 'markReserved'; reservations: { lineId: string; reservationId: string }[] }
  | { kind: 'reject'; code: string; reason: string; lineId?: string }
  | { kind: 'confirm'; at: string }
  | { kind: 'startPicking'; by: string; at: string }
  | { kind: 'markPicked'; by: string; at: string }
  | { kind: 'pack'; by: string; at: string }
  | { kind: 'ship'; by: string; at: string; trackingRef?: string }
  | { kind: 'cancel'; by: string; role: ActorRole; reason: string; at: string }
  | { kind: 'return'; by: string; reason: string; at: string };

export type OrderState =
  | { status: 'none' }
  | {
      status: OrderStatus;
      orderId: string;
      siteId: string;
      customerId: string;
      lines: OrderLine[];
      reservations: { lineId: string; reservationId: string }[];
      /** Status before a cancellation (what had to be undone). */
      cancelledFrom?: OrderStatus;
      rejection?: { code: string; reason: string; lineId?: string };
    };

export const initialOrderState: OrderState = { status: 'none' };

/** A command the order's state does not allow; 409 at the API (422 for `invalid`). */
export class OrderRuleError extends Error {
  override readonly name = 'OrderRuleError';
  constructor(
    readonly rule: 'exists' | 'not_found' | 'wrong_status' | 'not_allowed' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Who may cancel when, in one place: a shopper until the pick starts (nothing has left a shelf),
 * staff until the order is packed (picked units go back to the bins), the platform (checkout,
 * timeouts) only before confirmation. Nobody cancels a rejected, shipped or cancelled order.
 */
export const cancelRule: Record<ActorRole, readonly OrderStatus[]> = {
  customer: ['placed', 'reserved', 'confirmed'],
  staff: ['placed', 'reserved', 'confirmed', 'picking', 'picked'],
  system: ['placed', 'reserved'],
};

export function mayCancel(status: OrderStatus, role: ActorRole): boolean {
  return cancelRule[role].includes(status);
}

/** Statuses an order can be returned from (staff record the return). */
export const returnableFrom: readonly OrderStatus[] = ['picked', 'packed', 'shipped'];

/** The status each forward command needs and leads to. */
const forward = {
  markReserved: { from: 'placed', type: orderType.reserved },
  confirm: { from: 'reserved', type: orderType.confirmed },
  startPicking: { from: 'confirmed', type: orderType.picking },
  markPicked: { from: 'picking', type: orderType.picked },
  pack: { from: 'picked', type: orderType.packed },
  ship: { from: 'packed', type: orderType.shipped },
} as const;

export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  if (command.kind === 'place') {
    if (state.status !== 'none') throw new OrderRuleError('exists', `order ${command.orderId} exists`);
    checkLines(command.lines);
    return [
      {
        type: orderType.placed,
        data: {
          orderId: command.orderId,
          siteId: command.siteId,
          customerId: command.customerId,
          lines: command.lines,
          placedBy: command.by,
          placedAt: command.at,
        },
      },
    ];
  }
  if (state.status === 'none') throw new OrderRuleError('not_found', 'order not found');
  const ref = { orderId: state.orderId, siteId: state.siteId, customerId: state.customerId };
  switch (command.kind) {
    case 'reject':
      // Reserved but not confirmed: a later checkout step (payment) can still fail.
      need(state.status, state.status === 'reserved' ? 'reserved' : 'placed', 'reject');
      return [
        {
          type: orderType.rejected,
          data: {
            ...ref,
            code: command.code,
            reason: command.reason,
            ...(command.lineId ? { lineId: command.lineId } : {}),
          },
        },
      ];
    case 'cancel':
      if (!mayCancel(state.status, command.role)) {
        throw new OrderRuleError(
          'not_allowed',
          `${command.role === 'customer' ? 'a shopper' : command.role} may not cancel an order that is ${state.status}`,
        );
      }
      return [
        {
          type: orderType.cancelled,
          data: { ...ref, by: command.by, byRole: command.role, reason: command.reason, at: command.at },
        },
      ];
    case 'return':
      // Only what left a shelf can come back: picked (and paid for, the capture is at the pick) or later.
      if (!returnableFrom.includes(state.status)) {
        throw new OrderRuleError('wrong_status', `cannot return an order that is ${state.status}`);
      }
      return [
        {
          type: orderType.returned,
          data: { ...ref, by: command.by, reason: command.reason, at: command.at },
        },
      ];
    case 'markReserved': {
      need(state.status, forward.markReserved.from, command.kind);
      const lineIds = new Set(command.reservations.map((r) => r.lineId));
      const missing = state.lines.filter((l) => !lineIds.has(l.lineId));
      if (missing.length > 0 || lineIds.size !== state.lines.length) {
        throw new OrderRuleError('invalid', 'every line, and only the order lines, must be reserved');
      }
      return [{ type: orderType.reserved, data: { ...ref, reservations: command.reservations } }];
    }
    case 'confirm':
      need(state.status, forward.confirm.from, command.kind);
      return [{ type: orderType.confirmed, data: { ...ref, lines: state.lines, confirmedAt: command.at } }];
    case 'ship':
      need(state.status, forward.ship.from, command.kind);
      return [
        {
          type: orderType.shipped,
          data: {
            ...ref,
            at: command.at,
            by: command.by,
            ...(command.trackingRef ? { trackingRef: command.trackingRef } : {}),
          },
        },
      ];
    default: {
      const step = forward[command.kind];
      need(state.status, step.from, command.kind);
      return [{ type: step.type, data: { ...ref, at: command.at, by: command.by } } as OrderEvent];
    }
  }
}

export function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === orderType.placed) {
    const d = event.data;
    return {
      status: 'placed',
      orderId: d.orderId,
      siteId: d.siteId,
      customerId: d.customerId,
      lines: d.lines,
      reservations: [],
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case orderType.reserved:
      return { ...state, status: 'reserved', reservations: event.data.reservations };
    case orderType.rejected: {
      const { code, reason, lineId } = event.data;
      return { ...state, status: 'rejected', rejection: { code, reason, ...(lineId ? { lineId } : {}) } };
    }
    case orderType.confirmed:
      return { ...state, status: 'confirmed' };
    case orderType.picking:
      return { ...state, status: 'picking' };
    case orderType.picked:
      return { ...state, status: 'picked' };
    case orderType.packed:
      return { ...state, status: 'packed' };
    case orderType.shipped:
      return { ...state, status: 'shipped' };
    case orderType.cancelled:
      return { ...state, status: 'cancelled', cancelledFrom: state.status };
    case orderType.returned:
      return { ...state, status: 'returned' };
  }
}

export function fold(events: readonly OrderEvent[], state: OrderState = initialOrderState): OrderState {
  return events.reduce(evolve, state);
}

/** At most this many lines an order; a SKU appears once (quantities are summed by the caller). */
export const maxOrderLines = 100;

function checkLines(lines: readonly OrderLine[]): void {
  if (lines.length === 0) throw new OrderRuleError('invalid', 'an order needs at least one line');
  if (lines.length > maxOrderLines) throw new OrderRuleError('invalid', `at most ${maxOrderLines} lines`);
  const skus = new Set<string>();
  const ids = new Set<string>();
  for (const l of lines) {
    if (!Number.isInteger(l.quantity) || l.quantity <= 0) {
      throw new OrderRuleError('invalid', `line ${l.lineId}: quantity must be a positive whole number`);
    }
    if (skus.has(l.sku)) throw new OrderRuleError('invalid', `SKU ${l.sku} appears on two lines`);
    if (ids.has(l.lineId)) throw new OrderRuleError('invalid', `line id ${l.lineId} appears twice`);
    skus.add(l.sku);
    ids.add(l.lineId);
  }
}

function need(actual: OrderStatus, wanted: OrderStatus, what: string): void {
  if (actual !== wanted) {
    throw new OrderRuleError('wrong_status', `cannot ${what}: the order is ${actual}, not ${wanted}`);
  }
}
