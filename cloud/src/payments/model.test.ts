import { describe, expect, it } from 'vitest';
import {
  decide,
  fold,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentRef,
  PaymentRuleError,
  paymentType,
} from './model.js';

const ref: PaymentRef = {
  paymentId: 'p1',
  orderId: 'o1',
  merchantId: 'site-1',
  customerId: 'c1',
  provider: 'soap-bank',
  currency: 'EUR',
};
const at = '2026-12-04T10:00:00.000Z';
const authorized: PaymentEvent = {
  type: paymentType.authorized,
  data: { ...ref, providerRef: 'bank-1', amountMinor: 1000, at },
};
const captured = (amountMinor: number, capturedMinor: number): PaymentEvent => ({
  type: paymentType.captured,
  data: { ...ref, providerRef: 'bank-1', amountMinor, capturedMinor, at },
});

/** given events, when a command: the events it decides (or the rule it breaks). */
function given(events: PaymentEvent[]) {
  return {
    when: (command: PaymentCommand) => {
      try {
        return { events: decide(command, fold(events)), rule: undefined };
      } catch (error) {
        if (error instanceof PaymentRuleError) return { events: [], rule: error.rule };
        throw error;
      }
    },
  };
}

describe('Payment decider', () => {
  it('authorizes a new payment, and an identical authorization again decides nothing', () => {
    const cmd: PaymentCommand = { kind: 'authorize', ref, providerRef: 'bank-1', amountMinor: 1000, at };
    expect(given([]).when(cmd).events).toEqual([authorized]);
    expect(given([authorized]).when(cmd).events).toEqual([]);
    expect(given([authorized]).when({ ...cmd, providerRef: 'other' }).rule).toBe('exists');
  });

  it('records a decline as failed, with its code', () => {
    const { events } = given([]).when({
      kind: 'fail',
      ref,
      amountMinor: 1000,
      code: 'fraud-suspected',
      reason: 'too many payments',
      at,
    });
    expect(events[0]?.type).toBe(paymentType.failed);
    expect(fold(events)).toMatchObject({ status: 'failed', failure: { code: 'fraud-suspected' } });
  });

  it('captures partially, then the rest, never more than authorized', () => {
    expect(given([authorized]).when({ kind: 'capture', amountMinor: 400, at }).events).toEqual([
      captured(400, 400),
    ]);
    expect(
      given([authorized, captured(400, 400)]).when({ kind: 'capture', amountMinor: 600, at }).events,
    ).toEqual([captured(600, 1000)]);
    expect(given([authorized, captured(400, 400)]).when({ kind: 'capture', amountMinor: 601, at }).rule).toBe(
      'too_much',
    );
    expect(fold([authorized, captured(400, 400)])).toMatchObject({ status: 'captured', capturedMinor: 400 });
  });

  it('voids only an uncaptured authorization; voiding twice decides nothing', () => {
    const voided = given([authorized]).when({ kind: 'void', at }).events;
    expect(voided.map((e) => e.type)).toEqual([paymentType.voided]);
    expect(given([authorized, ...voided]).when({ kind: 'void', at }).events).toEqual([]);
    expect(given([authorized, captured(10, 10)]).when({ kind: 'void', at }).rule).toBe('wrong_status');
    expect(given([authorized, ...voided]).when({ kind: 'capture', amountMinor: 1, at }).rule).toBe(
      'wrong_status',
    );
  });

  it('refunds up to what was captured; fully refunded is refunded, partly stays captured', () => {
    const history = [authorized, captured(1000, 1000)];
    const part = given(history).when({ kind: 'refund', amountMinor: 300, at }).events;
    expect(fold([...history, ...part])).toMatchObject({ status: 'captured', refundedMinor: 300 });
    const rest = given([...history, ...part]).when({ kind: 'refund', amountMinor: 700, at }).events;
    expect(fold([...history, ...part, ...rest])).toMatchObject({ status: 'refunded', refundedMinor: 1000 });
    expect(given([...history, ...part]).when({ kind: 'refund', amountMinor: 701, at }).rule).toBe('too_much');
    expect(given([authorized]).when({ kind: 'refund', amountMinor: 1, at }).rule).toBe('wrong_status');
  });

  it('refuses follow-ups on an unknown payment and amounts that are not positive whole numbers', () => {
    expect(given([]).when({ kind: 'capture', amountMinor: 1, at }).rule).toBe('not_found');
    expect(given([authorized]).when({ kind: 'capture', amountMinor: 0, at }).rule).toBe('invalid');
    expect(given([authorized]).when({ kind: 'capture', amountMinor: 1.5, at }).rule).toBe('invalid');
  });
});
