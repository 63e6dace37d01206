import { counter, gauge, type Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { SaleState } from './sale.js';

export interface SaleStreamSettings {
  heartbeatMs: number;
  /** Events queued for one client beyond what its socket took; past it the client is dropped. */
  maxBufferedEvents: number;
  /** Clients per process across all sales; past it a new stream is refused (503). */
  maxClients: number;
}

interface Client {
  saleId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  open: boolean;
}

const encoder = new TextEncoder();
const heartbeat = encoder.encode(': heartbeat\n\n');

/**
 * The public flash-sale streams of this process: every client of a sale gets the same `state`
 * event (countdown and remaining quantity) on each tick and at once when stock or claims move.
 * Each client's queue is bounded (a slow one is dropped, counted); a closed socket removes it at
 * once, a failed heartbeat within one heartbeat.
 */
export class SaleStreams {
  private readonly bySale = new Map<string, Set<Client>>();
  private readonly timer: NodeJS.Timeout;
  private count = 0;
  private version = 0;
  private readonly dropped;
  private readonly clients;

  constructor(
    private readonly settings: SaleStreamSettings,
    metrics: MetricsRegistry,
  ) {
    this.dropped = counter(
      metrics,
      'bv_flash_sse_dropped_total',
      'Flash-sale SSE clients removed, by reason (closed, write_failed, slow, shutdown)',
      ['reason'],
    );
    this.clients = gauge(metrics, 'bv_flash_sse_clients', 'Flash-sale SSE clients connected to this process');
    this.timer = setInterval(() => {
      for (const set of this.bySale.values()) for (const c of set) this.write(c, heartbeat);
    }, settings.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.settings.maxClients;
  }

  /** Sales with at least one client here. */
  watched(): string[] {
    return [...this.bySale.keys()];
  }

  open(saleId: string, first: SaleState): ReadableStream<Uint8Array> {
    let client: Client | undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          client = { saleId, controller, open: true };
          let set = this.bySale.get(saleId);
          if (!set) {
            set = new Set();
            this.bySale.set(saleId, set);
          }
          set.add(client);
          this.count += 1;
          this.clients.set(this.count);
          controller.enqueue(encoder.encode('retry: 2000\n\n'));
          this.write(client, this.event(first));
        },
        cancel: () => {
          if (client) this.remove(client, 'closed');
        },
      },
      { highWaterMark: this.settings.maxBufferedEvents },
    );
  }

  publish(state: SaleState): void {
    const set = this.bySale.get(state.saleId);
    if (!set) return;
    const chunk = this.event(state);
    for (const c of set) this.write(c, chunk);
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of [...this.bySale.values()]) {
      for (const c of [...set]) {
        this.remove(c, 'shutdown');
        try {
          c.controller.close();
        } catch {
          // Already cancelled by the client.
        }
      }
    }
  }

  private event(state: SaleState): Uint8Array {
    this.version += 1;
    return encoder.encode(`id: ${this.version}\nevent: state\ndata: ${JSON.stringify(state)}\n\n`);
  }

  private write(c: Client, chunk: Uint8Array): void {
    if (!c.open) return;
    const room = c.controller.desiredSize;
    if (room !== null && room <= 0) {
      this.remove(c, 'slow');
      try {
        c.controller.error(new Error('client too slow'));
      } catch {
        // Already errored or cancelled.
      }
      return;
    }
    try {
      c.controller.enqueue(chunk);
    } catch {
      this.remove(c, 'write_failed');
    }
  }

  private remove(c: Client, reason: 'closed' | 'write_failed' | 'slow' | 'shutdown'): void {
    if (!c.open) return;
    c.open = false;
    const set = this.bySale.get(c.saleId);
    set?.delete(c);
    if (set?.size === 0) this.bySale.delete(c.saleId);
    this.count -= 1;
    this.clients.set(this.count);
    this.dropped.inc({ reason });
  }
}
