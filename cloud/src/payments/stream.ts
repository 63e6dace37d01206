import type { EventStore, EventStoreTransaction, StoredEvent } from '@bitv/shared/event-store';
import { createEvent, type EventDefinition, paymentEvents, topics } from '@bitv/shared/events';
import { sql } from 'kysely';
import { eventSource } from '../events.js';
import {
  decide,
  fold,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentState,
  paymentType,
} from './model.js';

/** The stream of one payment in the event store. */
export function paymentStream(paymentId: string): string {
  return `payment-${paymentId}`;
}

const definitions = new Map<string, EventDefinition<unknown>>(paymentEvents.map((d) => [d.type, d]));

function asPaymentEvent(stored: StoredEvent): PaymentEvent {
  if (!definitions.has(stored.type)) throw new Error(`${stored.type} is not a payment event`);
  return { type: stored.type, data: stored.data } as PaymentEvent;
}

export interface LoadedPayment {
  state: PaymentState;
  version: number;
  events: StoredEvent[];
}

export async function loadPayment(
  reader: Pick<EventStore | EventStoreTransaction, 'readStream'>,
  paymentId: string,
): Promise<LoadedPayment> {
  const events = await reader.readStream(paymentStream(paymentId));
  return { state: fold(events.map(asPaymentEvent)), version: events.at(-1)?.version ?? 0, events };
}

/**
 * Decides `command` on the payment as loaded inside `tx`, appends the events at that version (a
 * concurrent writer is a ConcurrencyError), queues them on `bv.payments` through the outbox (the
 * webhooks module consumes them) and writes the `payments` row, all in the one transaction.
 */
export async function execute(
  tx: EventStoreTransaction,
  paymentId: string,
  command: PaymentCommand,
  metadata: Record<string, unknown> = {},
): Promise<{ state: PaymentState; events: PaymentEvent[] }> {
  const loaded = await loadPayment(tx, paymentId);
  const events = decide(command, loaded.state);
  if (events.length === 0) return { state: loaded.state, events };
  const ids = events.map(() => crypto.randomUUID());
  await tx.append(
    paymentStream(paymentId),
    loaded.version === 0 ? 'no_stream' : loaded.version,
    events.map((e, i) => ({ type: e.type, data: e.data, metadata, id: ids[i] as string })),
  );
  await tx.publish(
    topics.payments,
    events.map((e, i) =>
      createEvent(definitions.get(e.type) as EventDefinition<unknown>, {
        source: eventSource,
        key: paymentId,
        id: ids[i] as string,
        data: e.data,
      }),
    ),
  );
  const state = fold(events, loaded.state);
  await writeRow(tx, state);
  for (const [i, e] of events.entries()) {
    if (e.type !== paymentType.captured && e.type !== paymentType.refunded) continue;
    const d = e.data;
    await sql`INSERT INTO payment_movements (event_id, payment_id, provider, provider_ref, operation, amount_minor, currency, day, at)
      VALUES (${ids[i] as string}, ${d.paymentId}, ${d.provider}, ${d.providerRef},
        ${e.type === paymentType.captured ? 'capture' : 'refund'}, ${d.amountMinor}, ${d.currency},
        ${new Date(d.at).toISOString().slice(0, 10)}, ${d.at}::timestamptz)`.execute(tx.sql);
  }
  return { state, events };
}

async function writeRow(tx: EventStoreTransaction, s: PaymentState): Promise<void> {
  if (s.status === 'none') return;
  await sql`INSERT INTO payments (payment_id, order_id, merchant_id, customer_id, provider, status, currency,
      authorized_minor, captured_minor, refunded_minor, provider_ref, failure_code, failure_reason)
    VALUES (${s.paymentId}, ${s.orderId}, ${s.merchantId}, ${s.customerId}, ${s.provider}, ${s.status}, ${s.currency},
      ${s.authorizedMinor}, ${s.capturedMinor}, ${s.refundedMinor}, ${s.providerRef ?? null},
      ${s.failure?.code ?? null}, ${s.failure?.reason ?? null})
    ON CONFLICT (payment_id) DO UPDATE SET status = EXCLUDED.status, captured_minor = EXCLUDED.captured_minor,
      refunded_minor = EXCLUDED.refunded_minor, updated_at = now()`.execute(tx.sql);
}
