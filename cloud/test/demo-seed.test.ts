import { demoCatalogue } from '@bitv/shared/catalogue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from './harness.js';

/** The demo looks like a real warehouse: one product, one unit weight, wherever it sits. */
describe('demo seed (PGlite)', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud('pglite');
  });
  afterAll(() => t?.close());

  it('names each bin by the catalogue product of its unit weight, one product across shelves', async () => {
    const [washers, bolts] = [demoCatalogue[0]!, demoCatalogue[3]!];
    // What the simulator reports: unit weights from the shared catalogue, the same one twice.
    await t.cloud.seedDemo({
      shelves: [
        {
          serialNumber: 'D1',
          bins: [
            { unitWeightG: washers.unitWeightG, count: 40 },
            { unitWeightG: bolts.unitWeightG, count: 12 },
          ],
        },
        {
          serialNumber: 'D2',
          bins: [
            { unitWeightG: bolts.unitWeightG, count: 30 },
            { unitWeightG: 77, count: 3 },
          ],
        },
      ],
    });
    const bins = await t.cloud.services.inventory.binsOfSite('demo-site');
    expect(bins.map((b) => [b.shelfId, b.bin, b.sku, b.productName])).toEqual([
      ['shelf-D1', 0, washers.sku, washers.name],
      ['shelf-D1', 1, bolts.sku, bolts.name],
      ['shelf-D2', 0, bolts.sku, bolts.name],
      ['shelf-D2', 1, 'DEMO-77G', 'Demo item, 77 g'],
    ]);
    const products = await t.cloud.services.inventory.listProducts();
    expect(products.filter((p) => p.sku === bolts.sku)).toEqual([
      expect.objectContaining({ unitWeightG: bolts.unitWeightG }),
    ]);
    expect((await t.cloud.services.inventory.stock(bolts.sku)).onHand).toBe(42);
  });

  it("creates the demo's products through the catalog: each has its history (a created event, version 1) and a price", async () => {
    const nuts = demoCatalogue[5]!;
    await t.cloud.seedDemo({
      siteId: 'demo-catalog',
      gatewayId: 'gw-demo-catalog',
      shelves: [{ serialNumber: 'DC1', bins: [{ unitWeightG: nuts.unitWeightG, count: 10 }] }],
    });
    const token = await t.token('admin');
    const headers = { authorization: `Bearer ${token}` };
    const product = await fetch(`${t.cloud.url}/api/v1/products/${nuts.sku}`, { headers });
    expect(product.status).toBe(200);
    expect(product.headers.get('etag')).toBe('"1"');
    const body = (await product.json()) as {
      status: string;
      priceMinor: number | null;
      currency: string | null;
    };
    expect(body).toMatchObject({ status: 'active', currency: 'EUR' });
    expect(body.priceMinor).toBeGreaterThan(0);
    const history = (await (
      await fetch(`${t.cloud.url}/api/v1/products/${nuts.sku}/history`, { headers })
    ).json()) as { events: { type: string; actor: string }[] };
    expect(history.events.map((e) => [e.type, e.actor])).toEqual([
      ['bv.catalog.product-created.v1', 'demo-seed'],
    ]);
  });

  it('has unique SKUs and unit weights (a weight names its product) within a shelf cell’s range', () => {
    expect(new Set(demoCatalogue.map((p) => p.sku)).size).toBe(demoCatalogue.length);
    expect(new Set(demoCatalogue.map((p) => p.unitWeightG)).size).toBe(demoCatalogue.length);
    expect(demoCatalogue.every((p) => p.unitWeightG >= 10 && p.unitWeightG <= 5_000)).toBe(true);
  });
});
