import type { Database } from '@bitv/shared/db';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import { sql } from 'kysely';
import type { PaymentProvider, ProviderNotification } from './provider.js';

/** What processing a notification does: settle the payment's pending attempts (status first). */
export type SettlePending = (paymentId: string) => Promise<number>;

/**
 * Provider notifications: verified by the adapter, stored (deduplicated by provider and
 * notification id), acknowledged, and processed later by a timer, so a slow or failing payment
 * update never makes the provider resend, and a duplicate is stored once and processed once.
 */
export class Notifications {
  private readonly received;
  private readonly refused;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.received = counter(metrics, 'bv_payments_notifications_total', 'Provider notifications, by result', [
      'provider',
      'result',
    ]);
    this.refused = counter(
      metrics,
      'bv_payments_notifications_refused_total',
      'Provider notifications refused (forged, replayed, malformed), by provider',
      ['provider'],
    );
  }

  /**
   * Verifies and stores one; true when it was new. A forged or malformed one throws the adapter's
   * ValidationError (the route answers 400), counted.
   */
  async receive(provider: PaymentProvider, body: string, headers: Record<string, string>): Promise<boolean> {
    let n: ProviderNotification;
    try {
      n = provider.parseNotification(body, headers);
    } catch (error) {
      this.refused.inc({ provider: provider.name });
      this.logger.warn({ err: error, provider: provider.name }, 'payment notification refused');
      throw error;
    }
    const result =
      await sql`INSERT INTO payment_notifications (provider, notification_id, payment_id, notification)
      VALUES (${provider.name}, ${n.notificationId}, ${n.paymentId}, ${JSON.stringify(n)}::jsonb)
      ON CONFLICT (provider, notification_id) DO NOTHING`.execute(this.database.kysely);
    const fresh = Number(result.numAffectedRows ?? 0) === 1;
    this.received.inc({ provider: provider.name, result: fresh ? 'stored' : 'duplicate' });
    return fresh;
  }

  /** Processes stored, unprocessed notifications (oldest first); returns how many. */
  async process(settle: SettlePending, limit = 100): Promise<number> {
    const { rows } = await sql<{ provider: string; notification_id: string; payment_id: string }>`
      SELECT provider, notification_id, payment_id FROM payment_notifications
      WHERE processed_at IS NULL ORDER BY received_at LIMIT ${limit}`.execute(this.database.kysely);
    let done = 0;
    for (const r of rows) {
      try {
        const settled = await settle(r.payment_id);
        await sql`UPDATE payment_notifications SET processed_at = now(),
            result = ${settled > 0 ? `settled ${settled} pending` : 'already recorded'}
          WHERE provider = ${r.provider} AND notification_id = ${r.notification_id}`.execute(
          this.database.kysely,
        );
        done += 1;
      } catch (error) {
        // Stays unprocessed: the next run tries again.
        this.logger.warn(
          { err: error, notificationId: r.notification_id },
          'payment notification not processed yet',
        );
      }
    }
    return done;
  }

  async recent(limit = 50): Promise<
    {
      provider: string;
      notificationId: string;
      paymentId: string;
      receivedAt: string;
      result: string | null;
    }[]
  > {
    const { rows } = await sql<{
      provider: string;
      notification_id: string;
      payment_id: string;
      received_at: Date | string;
      result: string | null;
    }>`SELECT provider, notification_id, payment_id, received_at, result FROM payment_notifications
      ORDER BY received_at DESC LIMIT ${limit}`.execute(this.database.kysely);
    return rows.map((r) => ({
      provider: r.provider,
      notificationId: r.notification_id,
      paymentId: r.payment_id,
      receivedAt: new Date(r.received_at).toISOString(),
      result: r.result,
    }));
  }
}
