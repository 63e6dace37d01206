import type {
  PaymentAuthorized,
  PaymentCaptured,
  PaymentFailed,
  PaymentRefunded,
  PaymentVoided,
} from '@bitv/shared/events';

/** The `bv.payment.*` event types as literals (the definitions' `type` is a plain string). */
export const paymentType = {
  authorized: 'bv.payment.authorized.v1',
  failed: 'bv.payment.failed.v1',
  captured: 'bv.payment.captured.v1',
  voided: 'bv.payment.voided.v1',
  refunded: 'bv.payment.refunded.v1',
} as const;

export type PaymentEvent =
  | { type: typeof paymentType.authorized; data: PaymentAuthorized }
  | { type: typeof paymentType.failed; data: PaymentFailed }
  | { type: typeof paymentType.captured; data: PaymentCaptured }
  | { type: typeof paymentType.voided; data: PaymentVoided }
  | { type: typeof paymentType.refunded; data: PaymentRefunded };

/**
 * `captured` stays while some of the captured amount is not refunded; `refunded` once all of it is.
 * Partial amounts are the `*Minor` totals.
 */
export type PaymentStatus = 'authorized' | 'captured' | 'voided' | 'refunded' | 'failed';

export interface PaymentRef {
  paymentId: string;
  orderId: string;
  merchantId: string;
  customerId: string;
  provider: string;
  currency: string;
}

export type PaymentState =
  | { status: 'none' }
  | (PaymentRef & {
      status: PaymentStatus;
      providerRef?: string;
      authorizedMinor: number;
      capturedMinor: number;
      refundedMinor: number;
      failure?: { code: string; reason: string };
    });

export const initialPaymentState: PaymentState = { status: 'none' };

/**
 * Commands record what a provider answered (the decider never calls out): the service asks the
 * provider, then decides with the answer. A command that repeats what the state already says
 * (the same authorization, a void of a voided payment) decides no events, so a retry after a crash
 * between the provider's answer and the append is harmless.
 */
export type PaymentCommand =
  | { kind: 'authorize'; ref: PaymentRef; providerRef: string; amountMinor: number; at: string }
  | { kind: 'fail'; ref: PaymentRef; amountMinor: number; code: string; reason: string; at: string }
  | { kind: 'capture'; amountMinor: number; at: string }
  | { kind: 'void'; at: string }
  | { kind: 'refund'; amountMinor: number; at: string };

export class PaymentRuleError extends Error {
  override readonly name = 'PaymentRuleError';
  constructor(
    readonly rule: 'exists' | 'not_found' | 'wrong_status' | 'invalid' | 'too_much',
    message: string,
  ) {
    super(message);
  }
}

export function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  if (command.kind === 'authorize' || command.kind === 'fail') {
    if (state.status !== 'none') {
      const same =
        command.kind === 'authorize'
          ? state.status !== 'failed' && state.providerRef === command.providerRef
          : state.status === 'failed';
      if (same) return [];
      throw new PaymentRuleError('exists', `payment ${command.ref.paymentId} is already ${state.status}`);
    }
    if (command.kind === 'fail') {
      const { ref, amountMinor, code, reason, at } = command;
      return [{ type: paymentType.failed, data: { ...ref, amountMinor, code, reason, at } }];
    }
    positive(command.amountMinor);
    const { ref, providerRef, amountMinor, at } = command;
    return [{ type: paymentType.authorized, data: { ...ref, providerRef, amountMinor, at } }];
  }
  if (state.status === 'none') throw new PaymentRuleError('not_found', 'payment not found');
  const ref = refOf(state);
  const providerRef = state.providerRef as string;
  switch (command.kind) {
    case 'capture': {
      need(state.status, ['authorized', 'captured'], 'capture');
      positive(command.amountMinor);
      const left = state.authorizedMinor - state.capturedMinor;
      if (command.amountMinor > left) {
        throw new PaymentRuleError('too_much', `capture of ${command.amountMinor} exceeds the ${left} left`);
      }
      const capturedMinor = state.capturedMinor + command.amountMinor;
      return [
        {
          type: paymentType.captured,
          data: { ...ref, providerRef, amountMinor: command.amountMinor, capturedMinor, at: command.at },
        },
      ];
    }
    case 'void':
      if (state.status === 'voided') return [];
      need(state.status, ['authorized'], 'void');
      if (state.capturedMinor > 0)
        throw new PaymentRuleError('wrong_status', 'cannot void: some was captured');
      return [
        {
          type: paymentType.voided,
          data: { ...ref, providerRef, amountMinor: state.authorizedMinor, at: command.at },
        },
      ];
    case 'refund': {
      need(state.status, ['captured'], 'refund');
      positive(command.amountMinor);
      const left = state.capturedMinor - state.refundedMinor;
      if (command.amountMinor > left) {
        throw new PaymentRuleError(
          'too_much',
          `refund of ${command.amountMinor} exceeds the ${left} captured`,
        );
      }
      const refundedMinor = state.refundedMinor + command.amountMinor;
      return [
        {
          type: paymentType.refunded,
          data: { ...ref, providerRef, amountMinor: command.amountMinor, refundedMinor, at: command.at },
        },
      ];
    }
  }
}

export function evolve(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case paymentType.authorized: {
      const { providerRef, amountMinor, at: _at, ...ref } = event.data;
      return {
        ...ref,
        status: 'authorized',
        providerRef,
        authorizedMinor: amountMinor,
        capturedMinor: 0,
        refundedMinor: 0,
      };
    }
    case paymentType.failed: {
      const { amountMinor, code, reason, at: _at, ...ref } = event.data;
      return {
        ...ref,
        status: 'failed',
        authorizedMinor: 0,
        capturedMinor: 0,
        refundedMinor: 0,
        failure: { code, reason },
      };
    }
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case paymentType.captured:
      return { ...state, status: 'captured', capturedMinor: event.data.capturedMinor };
    case paymentType.voided:
      return { ...state, status: 'voided' };
    case paymentType.refunded: {
      const refundedMinor = event.data.refundedMinor;
      return {
        ...state,
        status: refundedMinor >= state.capturedMinor ? 'refunded' : 'captured',
        refundedMinor,
      };
    }
  }
}

export function fold(
  events: readonly PaymentEvent[],
  state: PaymentState = initialPaymentState,
): PaymentState {
  return events.reduce(evolve, state);
}

function refOf(state: PaymentRef): PaymentRef {
  const { paymentId, orderId, merchantId, customerId, provider, currency } = state;
  return { paymentId, orderId, merchantId, customerId, provider, currency };
}

function positive(amountMinor: number): void {
  if (!Number.isInteger(amountMinor) || amountMinor <= 0) {
    throw new PaymentRuleError('invalid', 'an amount must be a positive whole number of minor units');
  }
}

function need(actual: PaymentStatus, wanted: readonly PaymentStatus[], what: string): void {
  if (!wanted.includes(actual)) {
    throw new PaymentRuleError('wrong_status', `cannot ${what}: the payment is ${actual}`);
  }
}
