import { ConcurrencyError, ConflictError, NotFoundError } from '@bitv/shared';
import type { Cache } from '@bitv/shared/cache';
import type { EventStore, ExpectedVersion } from '@bitv/shared/event-store';
import {
  type CatalogProductEvent,
  createEvent,
  type EventDefinition,
  productArchivedV1,
  productCreatedV1,
  productUpdatedV1,
  topics,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import type { Kysely } from 'kysely';
import { eventSource } from '../events.js';
import { StaleVersionError } from './errors.js';
import {
  type Audited,
  applyPatch,
  type CatalogProduct,
  type CreateInput,
  changeOf,
  checkSellable,
  fromCreate,
  type PatchInput,
} from './product.js';
import { ReadCounts } from './read-counts.js';
import { type CatalogDb, type CatalogTables, findProduct, type ListQuery, listProducts } from './store.js';

/** What the catalog reads stock through (inventory's API when inventory is mounted). */
export interface StockSource {
  stock(sku: string): Promise<{ onHand: number; reserved: number; available: number }>;
}

export interface StockView {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface HistoryEntry {
  version: number;
  type: string;
  at: string;
  actor: string;
  changed: string[];
  product: CatalogProduct;
}

export interface CatalogSettings {
  productTtlMs: number;
  /** Stock moves with every pick; its entries live briefly even though changes invalidate them. */
  stockTtlMs: number;
  warmCount: number;
}

export const streamOf = (sku: string) => `product-${sku}`;
export const productKey = (sku: string) => `catalog:product:${sku}`;
export const stockKey = (sku: string) => `catalog:stock:${sku}`;

/**
 * The catalog: owner of products. Every change is one transaction of the event store that
 * appends to the product's stream (its version is the ETag), updates the `products` row and
 * queues the `bv.catalog` event in the outbox; after commit the cached copy is invalidated on
 * every instance. Reads go through the cache (cache-aside, single flight).
 */
export class Catalog {
  readonly readCounts: ReadCounts;
  readonly db: CatalogDb;
  private readonly writes;

  constructor(
    private readonly deps: {
      db: CatalogDb;
      eventStore: EventStore;
      cache: Cache;
      logger: Logger;
      metrics: Registry;
      settings: CatalogSettings;
      stock: () => StockSource | undefined;
    },
  ) {
    this.db = deps.db;
    this.readCounts = new ReadCounts(deps.db, deps.logger);
    this.writes = counter(deps.metrics, 'bv_catalog_writes_total', 'Catalog writes by kind and outcome', [
      'kind',
      'outcome',
    ]);
  }

  /** A product through the cache; NotFoundError when there is none. */
  async get(sku: string): Promise<Audited> {
    const product = await this.deps.cache.getOrLoad(productKey(sku), this.deps.settings.productTtlMs, () =>
      findProduct(this.deps.db, sku),
    );
    if (!product) throw new NotFoundError(`product ${sku} not found`);
    this.readCounts.read(sku);
    return product;
  }

  /** The same read straight from the database (the benchmark's baseline, and writes' own reads). */
  async getUncached(sku: string): Promise<Audited> {
    const product = await findProduct(this.deps.db, sku);
    if (!product) throw new NotFoundError(`product ${sku} not found`);
    return product;
  }

  list(query: ListQuery) {
    return listProducts(this.deps.db, query);
  }

  async create(input: CreateInput, actor: string): Promise<Audited> {
    const draft = fromCreate(input);
    checkSellable(draft);
    const product = await this.write('create', async (db, tx) => {
      const existing = await findProduct(db, input.sku, true);
      if (existing)
        throw new ConflictError(
          `product ${input.sku} already exists (version ${existing.version}); change it with PATCH and If-Match`,
        );
      const appended = await tx.append(streamOf(input.sku), 'no_stream', [
        {
          type: productCreatedV1.type,
          data: changeOf({ ...draft, version: 1 }, Object.keys(draft), actor),
          metadata: { actor },
        },
      ]);
      const now = new Date();
      await db
        .insertInto('products')
        .values({
          sku: draft.sku,
          name: draft.name,
          description: draft.description,
          category: draft.category,
          status: draft.status,
          price_minor: draft.priceMinor,
          currency: draft.currency,
          unit_weight_g: draft.unitWeightG,
          tolerance_g: draft.toleranceG,
          attributes: JSON.stringify(draft.attributes),
          created_at: now,
          created_by: actor,
          updated_at: now,
          updated_by: actor,
          version: appended.version,
        })
        .execute();
      const stored = { ...draft, version: appended.version };
      await tx.publish(
        topics.catalog,
        this.cloudEvent(productCreatedV1, changeOf(stored, Object.keys(draft), actor)),
      );
      return findProduct(db, input.sku);
    });
    return product;
  }

  /** Applies a patch to the version the caller read; a stale version is a 412, nothing written. */
  async update(sku: string, expected: number, patch: PatchInput, actor: string): Promise<Audited> {
    return this.write('update', async (db, tx) => {
      const current = await this.current(db, sku, expected);
      const { next, changed } = applyPatch(current, patch);
      if (changed.length === 0) return current;
      return this.commit(db, tx, current, next, changed, actor, productUpdatedV1);
    });
  }

  /** Archives instead of deleting: orders, stock history and the stream still name the product. */
  async archive(sku: string, expected: number, actor: string): Promise<Audited> {
    return this.write('archive', async (db, tx) => {
      const current = await this.current(db, sku, expected);
      if (current.status === 'archived') return current;
      const { version: _, ...base } = current;
      return this.commit(
        db,
        tx,
        current,
        { ...base, status: 'archived' },
        ['status'],
        actor,
        productArchivedV1,
      );
    });
  }

  /** The product's change history: its stream, oldest first. */
  async history(sku: string): Promise<HistoryEntry[]> {
    await this.getUncached(sku);
    const events = await this.deps.eventStore.readStream(streamOf(sku));
    return events.map((e) => {
      const data = e.data as CatalogProductEvent;
      return {
        version: e.version,
        type: e.type,
        at: e.recordedAt.toISOString(),
        actor: data.actor,
        changed: data.changed,
        product: data.product,
      };
    });
  }

  /** On hand, reserved and available through the cache; NotFoundError without inventory or product. */
  async stock(sku: string): Promise<StockView> {
    const source = this.deps.stock();
    if (!source) throw new NotFoundError('stock is not available: the inventory module is not mounted here');
    const view = await this.deps.cache.getOrLoad(stockKey(sku), this.deps.settings.stockTtlMs, async () => {
      const s = await source.stock(sku);
      return { sku, onHand: s.onHand, reserved: s.reserved, available: s.available };
    });
    if (!view) throw new NotFoundError(`product ${sku} not found`);
    return view;
  }

  /** Inventory reported a count or reservation change for these SKUs. */
  async stockChanged(skus: readonly string[]): Promise<void> {
    if (skus.length > 0) await this.deps.cache.invalidate(skus.map(stockKey));
  }

  /** Loads the most-read products into the cache, so a restart does not begin with a stampede. */
  async warm(): Promise<number> {
    const skus = await this.readCounts.top(this.deps.settings.warmCount);
    let warmed = 0;
    for (const sku of skus) {
      const product = await this.deps.cache.getOrLoad(productKey(sku), this.deps.settings.productTtlMs, () =>
        findProduct(this.deps.db, sku),
      );
      if (product) warmed++;
    }
    return warmed;
  }

  private async current(db: CatalogDb, sku: string, expected: number): Promise<Audited> {
    const current = await findProduct(db, sku, true);
    if (!current) throw new NotFoundError(`product ${sku} not found`);
    if (current.version !== expected) throw new StaleVersionError(sku, expected, current.version);
    return current;
  }

  private async commit(
    db: CatalogDb,
    tx: Tx,
    current: Audited,
    next: Omit<CatalogProduct, 'version'>,
    changed: string[],
    actor: string,
    definition: EventDefinition<CatalogProductEvent>,
  ): Promise<Audited | undefined> {
    // Products made before the catalog (version 0) have no stream yet: their first change opens it.
    const expected: ExpectedVersion = current.version === 0 ? 'no_stream' : current.version;
    const event = changeOf({ ...next, version: current.version + 1 }, changed, actor);
    const appended = await tx.append(streamOf(current.sku), expected, [
      { type: definition.type, data: event, metadata: { actor } },
    ]);
    await db
      .updateTable('products')
      .set({
        name: next.name,
        description: next.description,
        category: next.category,
        status: next.status,
        price_minor: next.priceMinor,
        currency: next.currency,
        unit_weight_g: next.unitWeightG,
        tolerance_g: next.toleranceG,
        attributes: JSON.stringify(next.attributes),
        updated_at: new Date(),
        updated_by: actor,
        version: appended.version,
      })
      .where('sku', '=', current.sku)
      .execute();
    await tx.publish(
      topics.catalog,
      this.cloudEvent(definition, { ...event, product: { ...event.product, version: appended.version } }),
    );
    return findProduct(db, current.sku);
  }

  private async write(
    kind: 'create' | 'update' | 'archive',
    work: (db: CatalogDb, tx: Tx) => Promise<Audited | undefined>,
  ): Promise<Audited> {
    let product: Audited | undefined;
    try {
      product = await this.deps.eventStore.transaction((tx) =>
        work(tx.sql as unknown as Kysely<CatalogTables>, tx),
      );
    } catch (error) {
      this.writes.inc({ kind, outcome: error instanceof Error ? error.name : 'error' });
      // the row lock serialises writers, so this is a stream appended to outside the catalog
      if (error instanceof ConcurrencyError) throw new ConflictError(error.message, { cause: error });
      throw error;
    }
    if (!product) throw new Error('the written product could not be read back');
    this.writes.inc({ kind, outcome: 'ok' });
    // after commit: a reader on any instance now loads the new version
    await this.deps.cache.invalidate(productKey(product.sku));
    return product;
  }

  private cloudEvent(definition: EventDefinition<CatalogProductEvent>, data: CatalogProductEvent) {
    return createEvent(definition, {
      source: eventSource,
      key: data.product.sku,
      subject: data.product.sku,
      data,
    });
  }
}

type Tx = Parameters<Parameters<EventStore['transaction']>[0]>[0];
