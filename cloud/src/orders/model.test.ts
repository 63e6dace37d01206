import { orderEvents } from '@bitv/shared/events';
import { describe, expect, it } from 'vitest';
import {
  type ActorRole,
  cancelRule,
  decide,
  fold,
  type OrderCommand,
  type OrderEvent,
  OrderRuleError,
  type OrderStatus,
  orderStatuses,
  orderType,
} from './model.js';

const at = '2026-12-04T12:00:00.000Z';
const place: OrderCommand = {
  kind: 'place',
  orderId: 'o1',
  siteId: 's1',
  customerId: 'c1',
  lines: [
    { lineId: '1', sku: 'BOLT', quantity: 2 },
    { lineId: '2', sku: 'NUT', quantity: 3 },
  ],
  by: 'user:c1',
  at,
};
const reserved: OrderCommand = {
  kind: 'markReserved',
  reservations: [
    { lineId: '1', reservationId: '00000000-0000-4000-8000-000000000001' },
    { lineId: '2', reservationId: '00000000-0000-4000-8000-000000000002' },
  ],
};

/** given the events of these commands, when `command`, then the events it decides. */
function given(...commands: OrderCommand[]): { when(command: OrderCommand): OrderEvent[] } {
  const history: OrderEvent[] = [];
  for (const c of commands) history.push(...decide(c, fold(history)));
  return { when: (command) => decide(command, fold(history)) };
}

const upTo: Record<OrderStatus, OrderCommand[]> = {
  placed: [place],
  reserved: [place, reserved],
  rejected: [place, { kind: 'reject', code: 'unknown_sku', reason: 'no BOLT' }],
  confirmed: [place, reserved, { kind: 'confirm', at }],
  picking: [place, reserved, { kind: 'confirm', at }, { kind: 'startPicking', by: 'pick', at }],
  picked: [
    place,
    reserved,
    { kind: 'confirm', at },
    { kind: 'startPicking', by: 'pick', at },
    { kind: 'markPicked', by: 'pick', at },
  ],
  packed: [
    place,
    reserved,
    { kind: 'confirm', at },
    { kind: 'startPicking', by: 'pick', at },
    { kind: 'markPicked', by: 'pick', at },
    { kind: 'pack', by: 'staff', at },
  ],
  shipped: [
    place,
    reserved,
    { kind: 'confirm', at },
    { kind: 'startPicking', by: 'pick', at },
    { kind: 'markPicked', by: 'pick', at },
    { kind: 'pack', by: 'staff', at },
    { kind: 'ship', by: 'staff', at, trackingRef: 'T1' },
  ],
  cancelled: [place, { kind: 'cancel', by: 'user:c1', role: 'customer', reason: 'changed my mind', at }],
  returned: [
    place,
    reserved,
    { kind: 'confirm', at },
    { kind: 'startPicking', by: 'pick', at },
    { kind: 'markPicked', by: 'pick', at },
    { kind: 'return', by: 'staff', reason: 'damaged', at },
  ],
};

function stateAfter(commands: OrderCommand[]) {
  const events: OrderEvent[] = [];
  for (const c of commands) events.push(...decide(c, fold(events)));
  return fold(events);
}

describe('order decider', () => {
  it('a return is recorded only for a picked, packed or shipped order, and once', () => {
    const ret: OrderCommand = { kind: 'return', by: 'staff', reason: 'damaged', at };
    for (const status of Object.keys(upTo) as OrderStatus[]) {
      const decided = () => given(...upTo[status]).when(ret);
      if (['picked', 'packed', 'shipped'].includes(status)) {
        expect(decided().map((e) => e.type)).toEqual(['bv.order.returned.v1']);
        expect(stateAfter([...upTo[status], ret]).status).toBe('returned');
      } else expect(decided, status).toThrow(OrderRuleError);
    }
  });

  it('decides exactly the bv.order.* types the platform registry knows', () => {
    expect(Object.values(orderType).sort()).toEqual(orderEvents.map((d) => d.type).sort());
  });

  it('places an order with its lines, customer and site', () => {
    expect(given().when(place)).toEqual([
      {
        type: 'bv.order.placed.v1',
        data: {
          orderId: 'o1',
          siteId: 's1',
          customerId: 'c1',
          lines: place.kind === 'place' ? place.lines : [],
          placedBy: 'user:c1',
          placedAt: at,
        },
      },
    ]);
  });

  it('refuses to place the same order twice', () => {
    expect(() => given(place).when(place)).toThrow(OrderRuleError);
  });

  it.each([
    ['no lines', []],
    ['a zero quantity', [{ lineId: '1', sku: 'A', quantity: 0 }]],
    ['a negative quantity', [{ lineId: '1', sku: 'A', quantity: -2 }]],
    ['a fractional quantity', [{ lineId: '1', sku: 'A', quantity: 1.5 }]],
    [
      'one SKU on two lines',
      [
        { lineId: '1', sku: 'A', quantity: 1 },
        { lineId: '2', sku: 'A', quantity: 1 },
      ],
    ],
  ])('refuses an order with %s', (_, lines) => {
    expect(() => given().when({ ...place, lines } as OrderCommand)).toThrow(/line|SKU|quantity/);
  });

  it('walks placed -> reserved -> confirmed -> picking -> picked -> packed -> shipped', () => {
    const state = stateAfter(upTo.shipped);
    expect(state.status).toBe('shipped');
    expect(state.status !== 'none' && state.reservations.map((r) => r.lineId)).toEqual(['1', '2']);
  });

  it('confirms with the order lines (what fulfilment picks)', () => {
    const [event] = given(place, reserved).when({ kind: 'confirm', at });
    expect(event?.type).toBe('bv.order.confirmed.v1');
    expect(event?.data).toMatchObject({
      orderId: 'o1',
      siteId: 's1',
      customerId: 'c1',
      lines: [{ sku: 'BOLT' }, { sku: 'NUT' }],
    });
  });

  it('needs every line reserved, and only those', () => {
    expect(() =>
      given(place).when({
        kind: 'markReserved',
        reservations: reserved.kind === 'markReserved' ? reserved.reservations.slice(0, 1) : [],
      }),
    ).toThrow(/every line/);
  });

  it('rejects only a placed or reserved order, with its reason', () => {
    const state = stateAfter(upTo.rejected);
    expect(state).toMatchObject({ status: 'rejected', rejection: { code: 'unknown_sku' } });
    expect(() => given(...upTo.confirmed).when({ kind: 'reject', code: 'x', reason: 'y' })).toThrow(
      /confirmed/,
    );
  });

  it('refuses a step out of order', () => {
    expect(() => given(place).when({ kind: 'confirm', at })).toThrow(/placed, not reserved/);
    expect(() => given(...upTo.confirmed).when({ kind: 'pack', by: 's', at })).toThrow(OrderRuleError);
  });

  const roles: ActorRole[] = ['customer', 'staff', 'system'];
  for (const role of roles) {
    for (const status of orderStatuses) {
      const allowed = cancelRule[role].includes(status);
      it(`${allowed ? 'lets' : 'does not let'} ${role} cancel a ${status} order`, () => {
        const when = () =>
          given(...upTo[status]).when({ kind: 'cancel', by: 'x', role, reason: 'because', at });
        if (allowed) {
          expect(when()[0]?.type).toBe('bv.order.cancelled.v1');
          const after = stateAfter([...upTo[status], { kind: 'cancel', by: 'x', role, reason: 'r', at }]);
          expect(after).toMatchObject({ status: 'cancelled', cancelledFrom: status });
        } else expect(when).toThrow(/may not cancel/);
      });
    }
  }

  it('has no commands for an order that does not exist', () => {
    expect(() => given().when({ kind: 'confirm', at })).toThrow(/not found/);
  });
});
