import { randomUUID } from 'node:crypto';
import { tables } from '@bitv/shared/db';
import { createEvent, reservationChangedV1, topics } from '@bitv/shared/events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productKey } from '../src/catalog/catalog.js';
import type { CatalogTables } from '../src/catalog/store.js';
import { type CatalogHarness, startCatalog } from './catalog-harness.js';

type Json = Record<string, unknown> & { error?: { code: string; message: string } };
const body = async (res: Response) => (await res.json()) as Json;

const widget = (sku: string, extra: Record<string, unknown> = {}) => ({
  sku,
  name: `Widget ${sku}`,
  unitWeightG: 12.5,
  toleranceG: 1,
  ...extra,
});

/** The catalog's REST API, events, history and cached reads, on one database kind. */
export function describeCatalog(kind: 'pglite' | 'postgres'): void {
  describe(`catalog on ${kind}`, () => {
    let t: CatalogHarness;
    const req = (path: string, init: RequestInit = {}) => t.app.request(path, init);
    const post = (payload: unknown, role: 'admin' | 'operator' | 'staff' = 'admin') =>
      req('/api/v1/products', { method: 'POST', headers: t.as(role), body: JSON.stringify(payload) });
    const patch = (sku: string, payload: unknown, ifMatch?: string) =>
      req(`/api/v1/products/${sku}`, {
        method: 'PATCH',
        headers: t.as('operator', ifMatch === undefined ? {} : { 'If-Match': ifMatch }),
        body: JSON.stringify(payload),
      });
    const outbox = async (sku: string) => {
      const { rows } = await sql<{ topic: string; event: unknown }>`
        SELECT topic, event FROM bv_es_outbox WHERE partition_key = ${sku} ORDER BY id`.execute(
        t.database.kysely,
      );
      return rows;
    };
    const stream = (sku: string) => t.eventStore.readStream(`product-${sku}`);

    beforeAll(async () => {
      t = await startCatalog(kind);
    }, 120_000);
    afterAll(() => t?.close());

    it('creates a product (201, ETag "1"), reads it back, and refuses a second one with the same SKU', async () => {
      const res = await post(
        widget('W-1', {
          description: 'A blue widget',
          category: 'widgets',
          price: { amountMinor: 1999, currency: 'EUR' },
          status: 'active',
          attributes: { colour: 'blue', size: 3, fragile: false },
        }),
      );
      expect(res.status).toBe(201);
      expect(res.headers.get('ETag')).toBe('"1"');
      const created = await body(res);
      expect(created).toMatchObject({
        sku: 'W-1',
        priceMinor: 1999,
        currency: 'EUR',
        status: 'active',
        version: 1,
        createdBy: 'user:admin-1',
        attributes: { colour: 'blue', size: 3, fragile: false },
      });
      const got = await req('/api/v1/products/W-1', { headers: t.as('partner') });
      expect(got.status).toBe(200);
      expect(got.headers.get('ETag')).toBe('"1"');
      expect(await body(got)).toEqual(created);
      const again = await post(widget('W-1'));
      expect(again.status).toBe(409);
      expect((await body(again)).error?.message).toMatch(/already exists/);
      expect(await stream('W-1')).toHaveLength(1);
    });

    it.each([
      ['no name', widget('BAD-1', { name: undefined }), /name/],
      ['a negative price', widget('BAD-2', { price: { amountMinor: -1, currency: 'EUR' } }), /amountMinor/],
      [
        'a fractional price',
        widget('BAD-3', { price: { amountMinor: 19.99, currency: 'EUR' } }),
        /amountMinor/,
      ],
      ['a made-up currency', widget('BAD-4', { price: { amountMinor: 100, currency: 'XXY' } }), /ISO 4217/],
      [
        'a lower-case currency',
        widget('BAD-5', { price: { amountMinor: 100, currency: 'eur' } }),
        /ISO 4217/,
      ],
      ['an unknown field', widget('BAD-6', { colour: 'red' }), /colour|unrecognized/i],
      ['active without a price', widget('BAD-7', { status: 'active' }), /without a price/],
      ['a zero unit weight', widget('BAD-8', { unitWeightG: 0 }), /unitWeightG/],
      ['a SKU with a slash', widget('BAD/9'), /sku/],
      ['an object attribute', widget('BAD-10', { attributes: { nested: { a: 1 } } }), /attributes/],
    ])('refuses %s with a 400 that says why, and writes nothing', async (_, payload, message) => {
      const res = await post(payload);
      expect(res.status).toBe(400);
      const { error } = await body(res);
      expect(error?.code).toBe('validation_failed');
      expect(error?.message).toMatch(message);
      const sku = (payload as { sku: string }).sku;
      // 404, or 400 for the SKU no product can have
      const after = await req(`/api/v1/products/${encodeURIComponent(sku)}`, { headers: t.as('admin') });
      expect(after.status).toBe(sku.includes('/') ? 400 : 404);
      expect(await stream(sku)).toHaveLength(0);
      expect(await outbox(sku)).toHaveLength(0);
    });

    it('refuses a body that is not JSON, and writes by a staff member (403)', async () => {
      const res = await req('/api/v1/products', {
        method: 'POST',
        headers: t.as('admin'),
        body: '{"sku": "X",',
      });
      expect(res.status).toBe(400);
      expect((await body(res)).error?.message).toMatch(/not valid JSON/);
      expect((await post(widget('STAFF-1'), 'staff')).status).toBe(403);
      expect((await req('/api/v1/products/W-1')).status).toBe(403);
    });

    it('updates only with If-Match: 428 without, 412 when stale (nothing written), 200 and a new ETag when current', async () => {
      await post(widget('U-1', { category: 'tools' }));
      const without = await patch('U-1', { name: 'Renamed' });
      expect(without.status).toBe(428);
      expect((await body(without)).error?.message).toMatch(/If-Match/);
      const ok = await patch('U-1', { name: 'Renamed', price: { amountMinor: 500, currency: 'USD' } }, '"1"');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ETag')).toBe('"2"');
      expect(await body(ok)).toMatchObject({ name: 'Renamed', priceMinor: 500, currency: 'USD', version: 2 });
      const stale = await patch('U-1', { name: 'Lost update' }, '"1"');
      expect(stale.status).toBe(412);
      const { error } = await body(stale);
      expect(error?.code).toBe('precondition_failed');
      expect(error?.message).toMatch(/version 2, not 1/);
      expect(await body(await req('/api/v1/products/U-1', { headers: t.as('staff') }))).toMatchObject({
        name: 'Renamed',
        version: 2,
      });
      expect(await stream('U-1')).toHaveLength(2);
      expect((await patch('U-1', { name: 'x' }, 'W/"2"')).status).toBe(400);
      expect((await patch('U-1', {}, '"2"')).status).toBe(400);
      // the same values again: no change, no event, the version stays
      const same = await patch('U-1', { name: 'Renamed' }, '"2"');
      expect(same.status).toBe(200);
      expect(same.headers.get('ETag')).toBe('"2"');
      expect(await stream('U-1')).toHaveLength(2);
      expect((await patch('NOPE', { name: 'x' }, '"1"')).status).toBe(404);
    });

    it('lets exactly one of several concurrent writers with the same ETag win', async () => {
      await post(widget('RACE-1'));
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => patch('RACE-1', { name: `Writer ${i}` }, '"1"')),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 412, 412, 412, 412, 412]);
      expect(await stream('RACE-1')).toHaveLength(2);
    });

    it('archives instead of deleting, and keeps the whole history as the product stream', async () => {
      await post(widget('A-1', { price: { amountMinor: 100, currency: 'GBP' } }));
      await patch('A-1', { status: 'active' }, '"1"');
      const noMatch = await req('/api/v1/products/A-1', { method: 'DELETE', headers: t.as('admin') });
      expect(noMatch.status).toBe(428);
      const archived = await req('/api/v1/products/A-1', {
        method: 'DELETE',
        headers: t.as('admin', { 'If-Match': '"2"' }),
      });
      expect(archived.status).toBe(200);
      expect(await body(archived)).toMatchObject({ status: 'archived', version: 3 });
      expect((await req('/api/v1/products/A-1', { headers: t.as('staff') })).status).toBe(200);
      const history = await body(await req('/api/v1/products/A-1/history', { headers: t.as('staff') }));
      const events = history.events as { version: number; type: string; changed: string[]; actor: string }[];
      expect(events.map((e) => [e.version, e.type])).toEqual([
        [1, 'bv.catalog.product-created.v1'],
        [2, 'bv.catalog.product-updated.v1'],
        [3, 'bv.catalog.product-archived.v1'],
      ]);
      expect(events[1]?.changed).toEqual(['status']);
      expect(events[2]?.actor).toBe('user:admin-1');
      // every change is also queued for the event log, as a bv.catalog CloudEvent
      const queued = await outbox('A-1');
      expect(queued.map((r) => r.topic)).toEqual([topics.catalog, topics.catalog, topics.catalog]);
      expect(JSON.stringify(queued[2]?.event)).toMatch(/product-archived/);
      // restoring is a patch back to active
      const restored = await patch('A-1', { status: 'active' }, '"3"');
      expect(await body(restored)).toMatchObject({ status: 'active', version: 4 });
    });

    it('lists a page at a time, filters by category and status, and searches by words', async () => {
      for (const [i, colour] of ['red', 'blue', 'green', 'blue', 'red', 'teal', 'blue'].entries()) {
        await post(
          widget(`L-${i}`, {
            name: `${colour} gadget ${i}`,
            description: i === 3 ? 'discount 50% off' : 'plain',
            category: i % 2 ? 'odd' : 'even',
          }),
        );
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `/api/v1/products?category=odd&status=draft&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await body(await req(q, { headers: t.as('staff') }));
        seen.push(...(page.products as { sku: string }[]).map((p) => p.sku));
        cursor = page.nextCursor as string | null;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toEqual(['L-1', 'L-3', 'L-5']);
      const search = await body(
        await req('/api/v1/products?q=BLUE%20gadget&status=draft', { headers: t.as('staff') }),
      );
      expect((search.products as { sku: string }[]).map((p) => p.sku)).toEqual(['L-1', 'L-3', 'L-6']);
      const literal = await body(await req('/api/v1/products?q=50%25', { headers: t.as('staff') }));
      expect((literal.products as { sku: string }[]).map((p) => p.sku)).toEqual(['L-3']);
      const noArchived = await body(await req('/api/v1/products?limit=200', { headers: t.as('staff') }));
      expect((noArchived.products as { status: string }[]).every((p) => p.status !== 'archived')).toBe(true);
      const bad = await req('/api/v1/products?cursor=garbage', { headers: t.as('staff') });
      expect(bad.status).toBe(400);
      expect((await body(bad)).error?.message).toMatch(/cursor/);
      expect((await req('/api/v1/products?status=gone', { headers: t.as('staff') })).status).toBe(400);
      expect((await req('/api/v1/products?limit=0', { headers: t.as('staff') })).status).toBe(400);
    });

    it('takes over products made before the catalog (version 0, no stream yet)', async () => {
      await tables<CatalogTables>(t.database)
        .insertInto('products')
        .values({ sku: 'OLD-1', name: 'Old peg', unit_weight_g: 10, tolerance_g: 2 } as never)
        .execute();
      const old = await req('/api/v1/products/OLD-1', { headers: t.as('staff') });
      expect(old.headers.get('ETag')).toBe('"0"');
      expect(await body(old)).toMatchObject({
        status: 'active',
        version: 0,
        priceMinor: null,
        description: '',
      });
      const res = await patch('OLD-1', { status: 'draft' }, '"0"');
      expect(res.status).toBe(200);
      expect(res.headers.get('ETag')).toBe('"1"');
      expect(await stream('OLD-1')).toHaveLength(1);
    });

    it('serves reads from the cache and drops the cached copy when the product changes', async () => {
      await post(widget('C-1'));
      await t.cache.delete(productKey('C-1'));
      const hits = async () =>
        (await t.metrics.getSingleMetric('bv_cache_hits_total')?.get())?.values.reduce(
          (n, v) => n + v.value,
          0,
        ) ?? 0;
      await req('/api/v1/products/C-1', { headers: t.as('staff') });
      const before = await hits();
      await req('/api/v1/products/C-1', { headers: t.as('staff') });
      expect(await hits()).toBe(before + 1);
      // a change behind the cache's back is not seen until it expires: the cache really answers
      await sql`UPDATE products SET name = 'sneaky' WHERE sku = 'C-1'`.execute(t.database.kysely);
      expect((await body(await req('/api/v1/products/C-1', { headers: t.as('staff') }))).name).toBe(
        'Widget C-1',
      );
      await patch('C-1', { description: 'changed' }, '"1"');
      const after = await body(await req('/api/v1/products/C-1', { headers: t.as('staff') }));
      expect(after).toMatchObject({ name: 'sneaky', description: 'changed', version: 2 });
    });

    it('caches availability and drops it when inventory reports a change', async () => {
      expect((await req('/api/v1/products/W-1/availability', { headers: t.as('staff') })).status).toBe(404);
      let calls = 0;
      let onHand = 7;
      t.apis.inventory = {
        stock: async () => {
          calls++;
          return { onHand, reserved: 2, available: onHand - 2 };
        },
      };
      const read = async () =>
        body(await req('/api/v1/products/W-1/availability', { headers: t.as('partner') }));
      expect(await read()).toEqual({ sku: 'W-1', onHand: 7, reserved: 2, available: 5 });
      expect(await read()).toEqual({ sku: 'W-1', onHand: 7, reserved: 2, available: 5 });
      expect(calls).toBe(1);
      onHand = 9;
      const consumer = t.module.consumers?.[0];
      await consumer?.handle(
        createEvent(reservationChangedV1, {
          source: '/test',
          key: 'W-1',
          data: { reservationId: randomUUID(), sku: 'W-1', quantity: 1, reference: 'r', status: 'released' },
        }),
      );
      expect(await read()).toEqual({ sku: 'W-1', onHand: 9, reserved: 2, available: 7 });
      expect(calls).toBe(2);
    });

    it('warms the most-read products into a fresh cache at start', async () => {
      for (let i = 0; i < 5; i++) await req('/api/v1/products/W-1', { headers: t.as('staff') });
      await req('/api/v1/products/U-1', { headers: t.as('staff') });
      await t.module.catalog.readCounts.flush();
      const second = await startCatalog(kind, { database: t.database, overrides: { warmCount: 1 } });
      try {
        expect(await second.cache.get(productKey('W-1'))).toBeUndefined();
        await second.module.start?.();
        expect(await second.cache.get(productKey('W-1'))).toMatchObject({ sku: 'W-1' });
        expect(await second.cache.get(productKey('U-1'))).toBeUndefined();
      } finally {
        await second.close();
      }
    });
  });
}
