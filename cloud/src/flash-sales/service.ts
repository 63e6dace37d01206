import { ConflictError, NotFoundError, UnavailableError } from '@bitv/shared';
import { type BvEvent, orderCancelledV1, orderRejectedV1 } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry as MetricsRegistry } from '@bitv/shared/metrics';
import type { OrdersApi } from '../orders/api.js';
import type { Gate } from './gate.js';
import { type FlashSale, type NewSale, type SaleState, saleState } from './sale.js';
import type { FlashSaleStore } from './store.js';
import type { SaleStreams } from './streams.js';

export interface FlashSaleDeps {
  /** Inventory's available units (on the shelves, less reservations) of the SKU at the site. */
  available(sku: string, siteId: string): Promise<number>;
  /** The product's name; NotFoundError when inventory has no such SKU. */
  productName(sku: string): Promise<string>;
  place: OrdersApi['place'];
}

export interface BuyInput {
  saleId: string;
  customerId: string;
  quantity: number;
  /** `user:<id>` of the caller, for the order's event and the idempotency scope. */
  by: string;
  idempotencyKey?: string;
}

export interface Bought {
  claimId: string;
  orderId: string;
  status: string;
  replayed: boolean;
}

const refusals = {
  not_live: 'the sale is not running',
  sold_out: 'sold out',
  limit_reached: 'the per-customer limit is reached',
} as const;

/**
 * Flash sales: buying claims units of the sale atomically (quantity and per-customer limit), then
 * places an order through the orders module like any checkout; a claim whose order could not be
 * placed, or is rejected or cancelled later, gives its units back.
 */
export class FlashSaleService {
  private readonly claims;

  constructor(
    readonly store: FlashSaleStore,
    private readonly deps: FlashSaleDeps,
    private readonly streams: SaleStreams,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
    private readonly gate: Gate,
  ) {
    this.claims = counter(
      metrics,
      'bv_flash_claims_total',
      'Flash-sale buy attempts by outcome (ordered, not_live, sold_out, limit_reached, out_of_stock, place_failed, replayed)',
      ['outcome'],
    );
  }

  async create(input: NewSale, by: string): Promise<FlashSale> {
    const name = await this.deps.productName(input.sku);
    const sale = await this.store.create({ ...input, title: input.title ?? `Flash sale: ${name}` }, by);
    this.logger.info({ saleId: sale.id, sku: sale.sku, quantity: sale.quantity }, 'flash sale created');
    return sale;
  }

  async state(saleId: string, sale?: FlashSale): Promise<SaleState> {
    const s = sale ?? (await this.store.get(saleId));
    let available = 0;
    try {
      available = await this.deps.available(s.sku, s.siteId);
    } catch (error) {
      // A SKU with no stock record at the site has nothing to sell.
      if (!(error instanceof NotFoundError)) throw error;
    }
    return saleState(s, available);
  }

  async buy(input: BuyInput): Promise<Bought> {
    return this.gate.run(() => this.buyNow(input));
  }

  private async buyNow(input: BuyInput): Promise<Bought> {
    const sale = await this.store.get(input.saleId);
    // Unlocked reads that settle most of a burst without a transaction; the claim re-checks.
    const phase = saleState(sale, Number.MAX_SAFE_INTEGER).phase;
    if (phase !== 'live') {
      const reason = phase === 'sold_out' ? 'sold_out' : 'not_live';
      this.claims.inc({ outcome: reason });
      throw new ConflictError(refusals[reason], { details: { reason } });
    }
    const before = await this.state(input.saleId, sale);
    // Not binding (checkout's reservation is): a quick no when the shelves are already empty.
    if (before.phase === 'live' && before.available < input.quantity) {
      this.claims.inc({ outcome: 'out_of_stock' });
      throw new ConflictError('not enough stock on the shelves', { details: { reason: 'out_of_stock' } });
    }
    const claim = await this.store.claim(input.saleId, input.customerId, input.quantity);
    if (!claim.ok) {
      this.claims.inc({ outcome: claim.reason });
      throw new ConflictError(refusals[claim.reason], { details: { reason: claim.reason } });
    }
    let placed: Awaited<ReturnType<FlashSaleDeps['place']>>;
    try {
      placed = await this.deps.place({
        siteId: sale.siteId,
        customerId: input.customerId,
        lines: [{ sku: sale.sku, quantity: input.quantity }],
        by: input.by,
        caller: input.by,
        idempotencyKey: input.idempotencyKey
          ? `flash:${sale.id}:${input.idempotencyKey}`
          : `flash:${claim.claimId}`,
      });
    } catch (error) {
      this.claims.inc({ outcome: 'place_failed' });
      await this.store.release({ claimId: claim.claimId }, 'place_failed');
      await this.refresh(sale.id);
      throw error;
    }
    if (placed.replayed) {
      // A retry of an earlier buy: that one's claim stands, this one's goes back.
      this.claims.inc({ outcome: 'replayed' });
      await this.store.release({ claimId: claim.claimId }, 'idempotent_replay');
    } else {
      this.claims.inc({ outcome: 'ordered' });
      await this.store.linkOrder(claim.claimId, placed.body.orderId);
    }
    await this.refresh(sale.id);
    return {
      claimId: claim.claimId,
      orderId: placed.body.orderId,
      status: placed.body.status,
      replayed: placed.replayed,
    };
  }

  /** `bv.orders`: a rejected or cancelled order's claim gives its units back. */
  async onOrderEvent(event: BvEvent): Promise<void> {
    let orderId: string;
    let customerId: string;
    let reason: string;
    if (event.type === orderRejectedV1.type) {
      const d = orderRejectedV1.schema.parse(event.data);
      ({ orderId, customerId } = d);
      reason = `rejected:${d.code}`;
    } else if (event.type === orderCancelledV1.type) {
      const d = orderCancelledV1.schema.parse(event.data);
      ({ orderId, customerId } = d);
      reason = 'cancelled';
    } else return;
    const saleId = await this.store.release({ orderId }, reason);
    if (saleId) {
      await this.refresh(saleId);
      return;
    }
    // The order may be a flash order whose id is not linked yet (the buyer's request is between
    // placing and linking): retried by the event log rather than lost.
    if (await this.store.placingFor(customerId)) {
      throw new UnavailableError(`order ${orderId}: a flash claim of its customer is still being placed`);
    }
  }

  /** Sends a sale's state to its stream clients here (if any). */
  async refresh(saleId: string): Promise<void> {
    if (!this.streams.watched().includes(saleId)) return;
    this.streams.publish(await this.state(saleId));
  }

  async tick(): Promise<void> {
    for (const saleId of this.streams.watched()) await this.refresh(saleId);
  }

  /** Stock moved (a pick, a restock): the sales of those SKUs that someone watches update now. */
  async onStockChange(skus: ReadonlySet<string>): Promise<void> {
    for (const saleId of this.streams.watched()) {
      const sale = await this.store.get(saleId);
      if (skus.has(sale.sku)) this.streams.publish(await this.state(saleId, sale));
    }
  }
}
