import { NotFoundError } from '@bitv/shared';
import { productOfWeight } from '@bitv/shared/catalogue';
import type { Services } from '../api/services.js';
import type { CatalogApi } from '../catalog/api.js';
import { deviceIdOf } from '../registry/registry.js';

export interface DemoBin {
  /**
   * Defaults to the demo catalogue's product of this unit weight (the simulator stocks from the
   * same catalogue), else `DEMO-<weight>G`: one product per unit weight, wherever it sits.
   */
  sku?: string;
  name?: string;
  unitWeightG: number;
  /** Units in the bin when the demo starts (the simulator starts with the same). Without `tareG`, the
   * first settled weight is taken to mean this count and fixes the tare (tray weight included). */
  count: number;
  toleranceG?: number;
  tareG?: number;
  lowStockThreshold?: number;
}

export interface DemoShelf {
  serialNumber: string;
  bins: DemoBin[];
}

export interface DemoInput {
  siteId?: string;
  siteName?: string;
  gatewayId?: string;
  shelves: DemoShelf[];
  /** Demo people to create, with their passwords. */
  users?: {
    email: string;
    name: string;
    role: 'staff' | 'operator' | 'partner' | 'admin';
    password: string;
  }[];
}

export interface DemoSeeded {
  siteId: string;
  gatewayId: string;
  shelves: { shelfId: string; serialNumber: string; bins: number }[];
}

/**
 * A demo warehouse matching the simulated shelves: one site, one aisle, one gateway (not yet
 * claimed; `createClaimToken` gives the agent its token), and each bin stocked with the demo
 * catalogue's product of its unit weight (`@bitv/shared/catalogue`, which the simulator stocks
 * from) and the simulator's item count. Running it twice is harmless.
 */
export async function seedDemo(
  s: Services,
  input: DemoInput,
  /** The catalog module when mounted: products are created through it (events, history, a price). */
  catalog?: Pick<CatalogApi, 'createProduct'>,
): Promise<DemoSeeded> {
  const siteId = input.siteId ?? 'demo-site';
  const gatewayId = input.gatewayId ?? 'gw-demo-1';
  const aisleId = `${siteId}-a1`;
  const sites = await s.registry.listSites();
  if (!sites.some((x) => x.id === siteId)) {
    await s.registry.createSite({ id: siteId, name: input.siteName ?? 'Demo warehouse' });
    await s.registry.createAisle({ id: aisleId, siteId, name: 'Aisle 1', position: 0 });
  }
  const gateways = await s.registry.listGateways(siteId);
  if (!gateways.some((g) => g.id === gatewayId)) {
    await s.registry.createGateway({ id: gatewayId, siteId, aisleId, name: 'Demo gateway' });
  }
  const existing = new Set((await s.registry.listShelves({ siteId })).map((x) => x.id));
  const seeded: DemoSeeded['shelves'] = [];
  for (const [position, shelf] of input.shelves.entries()) {
    const shelfId = deviceIdOf(shelf.serialNumber);
    if (!existing.has(shelfId)) {
      await s.registry.createShelf({
        gatewayId,
        serialNumber: shelf.serialNumber,
        binCount: shelf.bins.length,
        aisleId,
        position,
      });
      for (const [bin, b] of shelf.bins.entries()) {
        const known = productOfWeight(b.unitWeightG);
        const sku = b.sku ?? known?.sku ?? `DEMO-${b.unitWeightG}G`;
        const product = {
          sku,
          name: b.name ?? known?.name ?? `Demo item, ${b.unitWeightG} g`,
          unitWeightG: b.unitWeightG,
          toleranceG: b.toleranceG ?? Math.max(1, Math.min(b.unitWeightG / 4, 20)),
        };
        if (!catalog) await s.inventory.upsertProduct(product);
        else if (!(await exists(s, sku))) {
          // Through the catalog, so the product has its history (a created event) like any other.
          await catalog.createProduct(
            {
              ...product,
              description: '',
              category: 'demo',
              price: { amountMinor: demoPriceMinor(b.unitWeightG), currency: 'EUR' },
              attributes: {},
              status: 'active',
            },
            'demo-seed',
          );
        }
        await s.inventory.assign({
          shelfId,
          bin,
          sku,
          ...(b.tareG !== undefined ? { tareG: b.tareG } : {}),
          lowStockThreshold: b.lowStockThreshold ?? Math.max(1, Math.floor(b.count / 5)),
          count: b.count,
          actor: 'demo-seed',
        });
      }
    }
    seeded.push({ shelfId, serialNumber: shelf.serialNumber, bins: shelf.bins.length });
  }
  for (const u of input.users ?? []) {
    const known = (await s.users.list()).some((x) => x.email === u.email.toLowerCase());
    if (!known) await s.users.create({ ...u, sites: null });
  }
  return { siteId, gatewayId, shelves: seeded };
}

/**
 * A demo price from the unit weight: 1.00 plus about ten cents per 30 g (heavier parts cost more).
 * Whole tens of cents, so no order total ends in the embedded sandbox bank's test amounts
 * (`.05`, `.51`, `.59` are declined by design: docs/payments.md) and the demo's orders are paid.
 */
export const demoPriceMinor = (unitWeightG: number) => 100 + 10 * Math.round(unitWeightG / 30);

async function exists(s: Services, sku: string): Promise<boolean> {
  try {
    await s.inventory.getProduct(sku);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
