import type { Alarm } from '@bitv/shared/events';
import type { Counter } from '@bitv/shared/metrics';

/** What the live channel sends; every message names its site so clients can filter. */
export type LiveMessage =
  | {
      type: 'stock';
      siteId: string;
      shelfId: string;
      bin: number;
      sku: string | null;
      count: number;
      previousCount: number;
      confidence: number;
      reason: string;
      weightG: number | null;
      /** Time of the reading that caused the change (ISO), for latency measurement. */
      readingTime?: string;
      at: string;
    }
  | {
      type: 'weight';
      siteId: string;
      shelfId: string;
      bin: number;
      weightG: number;
      stable: boolean;
      readingTime: string;
    }
  | {
      type: 'alert';
      siteId: string;
      alertId: string;
      shelfId: string;
      bin: number;
      sku: string | null;
      kind: 'low_stock' | 'cell_fault' | 'shelf_offline' | 'low_confidence';
      status: 'open' | 'cleared';
      message: string;
    }
  /**
   * Whether a bin's count is current: `ok`, or why not (its shelf offline, its cell faulty, its
   * count's confidence low), with the time it was last weighed.
   */
  | {
      type: 'bin-health';
      siteId: string;
      shelfId: string;
      bin: number;
      health: 'ok' | 'shelf_offline' | 'cell_fault' | 'low_confidence';
      weighedAt: string | null;
    }
  /** A bin's count was matched to its first settled weight, which fixed its tare. */
  | { type: 'weighed'; siteId: string; shelfId: string; bin: number; tareG: number }
  | {
      type: 'light';
      siteId: string;
      shelfId: string;
      bin: number;
      color: string | null;
      blink: string | null;
    }
  | {
      type: 'gateway';
      siteId: string;
      gatewayId: string;
      online: boolean;
      queueDepth: number | null;
      agentVersion: string | null;
      lastSeenAt: string | null;
      /** Device links the agent cannot open (> 0: degraded), and why. */
      linksDown?: number | null;
      linkError?: string | null;
    }
  | {
      type: 'shelf';
      siteId: string;
      shelfId: string;
      gatewayId: string;
      online: boolean;
      firmware: string | null;
    }
  /** A pick list changed (fulfilment): its lines and open mis-picks as they now stand. */
  | {
      type: 'pick';
      siteId: string;
      pickId: string;
      orderId: string;
      status: string;
      /** What changed: created, started, progressed, confirmed, short, mis-picked, ... */
      change: string;
      lines: {
        lineId: string;
        sku: string;
        quantity: number;
        taken: number;
        status: string;
        shelfId: string | null;
        bin: number | null;
      }[];
      misPicks: { alertId: string; shelfId: string; bin: number; taken: number }[];
    }
  | {
      type: 'command';
      siteId: string;
      commandId: string;
      gatewayId: string;
      status: string;
      reason: string | null;
      /** When it was requested, and when its status last changed (ISO). */
      createdAt: string;
      updatedAt: string;
    }
  /** An alarm was raised, acknowledged or cleared (the whole alarm after the change). */
  | { type: 'alarm'; siteId: string; alarm: Alarm }
  /** A gateway shadow's desired or reported state changed. */
  | {
      type: 'shadow';
      siteId: string;
      gatewayId: string;
      version: number;
      reportedVersion: number;
      inSync: boolean;
    }
  /** An order's status changed; a shopper's socket gets only their own orders' messages. */
  | {
      type: 'order';
      siteId: string;
      customerId: string;
      orderId: string;
      status: string;
      /** The event that moved it (`bv.order.confirmed.v1`, ...) and the order's version after it. */
      event: string;
      version: number;
      at: string;
    }
  /** A firmware rollout moved (a device finished, a wave opened, paused, aborted...). */
  | {
      type: 'rollout';
      siteId: string;
      rolloutId: string;
      status: string;
      wave: number;
      waves: number;
      progress: { total: number; pending: number; inProgress: number; succeeded: number; failed: number };
    };

export interface LiveSubscriber {
  /** Sites this subscriber may see; null = all. */
  sites: readonly string[] | null;
  /** A shopper: order messages only for this customer (whatever the site); absent = by site. */
  customerId?: string;
  send(message: LiveMessage, text: string): void;
}

/**
 * In-process fan-out of live updates to WebSocket clients, by site. Producers (inventory, device
 * state, commands) call `publish` right after their database commit, so the dashboard sees a
 * change without waiting for the event log round trip.
 */
export class LiveHub {
  private readonly subscribers = new Set<LiveSubscriber>();

  constructor(private readonly sent?: Counter<'type'>) {}

  subscribe(subscriber: LiveSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(message: LiveMessage): void {
    if (this.subscribers.size === 0) return;
    const text = JSON.stringify(message);
    for (const s of this.subscribers) {
      if (visible(s, message)) {
        s.send(message, text);
        this.sent?.inc({ type: message.type });
      }
    }
  }
}

function visible(s: LiveSubscriber, message: LiveMessage): boolean {
  if (s.customerId !== undefined && message.type === 'order') return message.customerId === s.customerId;
  return s.sites === null || s.sites.includes(message.siteId);
}
