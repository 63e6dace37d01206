import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import type { FaultInjector } from './faults.js';

/**
 * Asynchronous notifications to the merchant's callback URL: HTTP POST, signed with HMAC-SHA256
 * over `<unix seconds>.<body>` with the shared secret. At-least-once: a failed POST is tried again
 * (a few times, spaced), a duplicate may be sent on purpose (fault setting), and the queue is
 * bounded: past its bound a notification is dropped, counted and logged, never buffered forever.
 */
export interface NotifierOptions {
  /** Where to POST; unset: notifications are counted as skipped. */
  callbackUrl: string | undefined;
  secret: string;
  /** Builds the wire body and the content type for one notification. */
  encode: (notification: OutgoingNotification) => { body: string; contentType: string };
  /** Header names of the signature and its timestamp, and how the signature header reads. */
  sign: (timestamp: number, signatureHex: string) => Record<string, string>;
  faults: FaultInjector;
  registry: Registry;
  log: Logger;
  service: string;
  maxQueue?: number;
  attempts?: number;
  timeoutMs?: number;
}

export interface OutgoingNotification {
  notificationId: string;
  paymentId: string;
  ref: string;
  operation: 'authorize' | 'capture' | 'void' | 'refund';
  approved: boolean;
  code: string;
  at: string;
}

export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export class Notifier {
  private readonly options: Required<NotifierOptions>;
  private pending = 0;
  private closed = false;
  private callbackUrl: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sent;
  private readonly failed;
  private readonly dropped;

  constructor(options: NotifierOptions) {
    this.options = { maxQueue: 1000, attempts: 3, timeoutMs: 5000, ...options } as Required<NotifierOptions>;
    this.callbackUrl = options.callbackUrl;
    const labels = ['service'] as const;
    this.sent = counter(
      options.registry,
      'bv_payment_notifications_sent_total',
      'notifications POSTed (2xx)',
      labels,
    );
    this.failed = counter(
      options.registry,
      'bv_payment_notifications_failed_total',
      'POST attempts that failed',
      labels,
    );
    this.dropped = counter(
      options.registry,
      'bv_payment_notifications_dropped_total',
      'notifications dropped: no callback URL, queue full, or attempts exhausted',
      labels,
    );
  }

  /** Queues one notification (and, by the fault setting, its duplicate with the same id). */
  notify(fields: Omit<OutgoingNotification, 'notificationId'>): void {
    const notification = { notificationId: randomUUID(), ...fields };
    const copies = this.options.faults.duplicateNotification() ? 2 : 1;
    for (let i = 0; i < copies; i++) this.enqueue(notification);
  }

  /** Where notifications go from now on (the embedded platform learns the cloud's address after it started). */
  setCallbackUrl(url: string | undefined): void {
    this.callbackUrl = url;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private enqueue(notification: OutgoingNotification): void {
    const service = this.options.service;
    if (this.callbackUrl === undefined || this.closed) {
      this.dropped.inc({ service });
      return;
    }
    if (this.pending >= this.options.maxQueue) {
      this.dropped.inc({ service });
      this.options.log.warn(
        { notificationId: notification.notificationId },
        'notification queue full: dropped',
      );
      return;
    }
    this.pending++;
    this.later(this.options.faults.settings.notificationDelayMs, () => this.attempt(notification, 1));
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // attempt() handles its own failures; this catch only keeps a bug from becoming an unhandled rejection.
      fn().catch((error: unknown) => this.options.log.error({ err: error }, 'notification attempt crashed'));
    }, ms);
    this.timers.add(timer);
  }

  private async attempt(notification: OutgoingNotification, attempt: number): Promise<void> {
    const target = this.callbackUrl;
    const { body, contentType } = this.options.encode(notification);
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signPayload(this.options.secret, timestamp, body);
    const service = this.options.service;
    try {
      if (target === undefined) throw new Error('no callback URL');
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': contentType, ...this.options.sign(timestamp, signature) },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`callback answered HTTP ${response.status}`);
      this.sent.inc({ service });
      this.pending--;
    } catch (error) {
      this.failed.inc({ service });
      if (attempt >= this.options.attempts || this.closed) {
        this.pending--;
        this.dropped.inc({ service });
        this.options.log.warn(
          { err: error, notificationId: notification.notificationId },
          'notification given up',
        );
        return;
      }
      this.later(1000 * attempt, () => this.attempt(notification, attempt + 1));
    }
  }
}
