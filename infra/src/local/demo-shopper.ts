import { randomUUID } from 'node:crypto';
import type { CloudHandle } from '@bitv/cloud';
import type { Logger } from '@bitv/shared/log';
import { Random } from '@bitv/shared/random';

export interface DemoShopperOptions {
  siteId: string;
  /** Mean seconds between orders (uniform in half to one and a half times it). */
  everySeconds: number;
  /** Orders are placed only while fewer than this many of the site's picks wait or run. */
  maxOpenPicks: number;
  seed: number;
}

interface Line {
  sku: string;
  quantity: number;
}

const requestTimeoutMs = 10_000;

/**
 * A shopper for the `npm start` demo: now and then they order one to three of the site's products
 * (a few units each) through the orders API, with an `Idempotency-Key`, as a partner's shop would;
 * the order then goes through checkout and becomes a pick list the simulator's picker follows.
 * They wait while the site has picks queued, so the demo never piles up work.
 */
export class DemoShopper {
  private timer: NodeJS.Timeout | undefined;
  private readonly random: Random;
  private stopped = false;

  constructor(
    private readonly cloud: CloudHandle,
    private readonly token: () => string | undefined,
    private readonly options: DemoShopperOptions,
    private readonly logger: Logger,
  ) {
    this.random = Random.derive(options.seed, 'demo-shopper');
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const ms = this.options.everySeconds * 1000 * this.random.between(0.5, 1.5);
    this.timer = setTimeout(() => {
      this.shop()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'demo shopper could not order'))
        .finally(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  /** Places one order, unless the site is busy; returns its id (undefined when it waited). */
  async shop(): Promise<string | undefined> {
    const busy = await this.get<{ picks: unknown[] }>(
      `/api/v1/picks?siteId=${encodeURIComponent(this.options.siteId)}&status=open`,
    );
    const running = await this.get<{ pick: unknown }>(
      `/api/v1/sites/${encodeURIComponent(this.options.siteId)}/pick`,
    );
    if (busy.picks.length + (running.pick ? 1 : 0) >= this.options.maxOpenPicks) return undefined;
    const stock = await this.get<{ bins: { sku: string | null; count: number }[] }>(
      `/api/v1/sites/${encodeURIComponent(this.options.siteId)}/layout`,
    );
    const lines = this.basket(stock.bins);
    if (lines.length === 0) return undefined;
    const response = await fetch(`${this.cloud.url}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token() ?? ''}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      // A staff token orders on the demo customer's behalf (a shop's partner key would order as itself).
      body: JSON.stringify({ siteId: this.options.siteId, customerId: 'demo-shopper', lines }),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const body = (await response.json()) as { orderId?: string; error?: { message?: string } };
    if (!response.ok)
      throw new Error(`order refused (${response.status}): ${body.error?.message ?? 'no reason'}`);
    this.logger.info({ orderId: body.orderId, lines }, 'demo shopper placed an order');
    return body.orderId;
  }

  /** One to three products the shelves hold, a few units each (never more than half a bin). */
  private basket(bins: readonly { sku: string | null; count: number }[]): Line[] {
    const stocked = bins.filter((b): b is { sku: string; count: number } => b.sku !== null && b.count >= 2);
    const lines = new Map<string, number>();
    const wanted = this.random.int(1, 3);
    for (let i = 0; i < wanted * 3 && lines.size < wanted && stocked.length > 0; i++) {
      const bin = stocked[this.random.int(0, stocked.length - 1)] as { sku: string; count: number };
      if (lines.has(bin.sku)) continue;
      lines.set(bin.sku, this.random.int(1, Math.max(1, Math.min(3, Math.floor(bin.count / 2)))));
    }
    return [...lines].map(([sku, quantity]) => ({ sku, quantity }));
  }

  private async get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.cloud.url}${path}`, {
      headers: { authorization: `Bearer ${this.token() ?? ''}` },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  }
}
