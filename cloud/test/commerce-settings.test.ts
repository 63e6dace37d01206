import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@bitv/shared';
import { describe, expect, it } from 'vitest';
import { catalogDefaults } from '../src/catalog/module.js';
import { cloudConfigSpec, commerceSettingsOf } from '../src/config.js';
import { ordersDefaults } from '../src/orders/module.js';

const cloudDir = fileURLToPath(new URL('..', import.meta.url));

describe('catalog and orders settings from the environment', () => {
  it("an unset environment gives the modules' own defaults (the documented ones)", () => {
    const settings = commerceSettingsOf(loadConfig(cloudConfigSpec, {}));
    expect(settings.orders).toEqual(ordersDefaults);
    expect(settings.catalog).toEqual(catalogDefaults);
  });

  it('each variable reaches its setting, and a bad value is refused', () => {
    const settings = commerceSettingsOf(
      loadConfig(cloudConfigSpec, {
        BV_ORDERS_HOLD_SECONDS: '60',
        BV_ORDERS_RESUME_EVERY_MS: '500',
        BV_CHECKOUT_LEASE_MS: '3000',
        BV_CHECKOUT_CONCURRENCY: '2',
        BV_ORDERS_PLACE_MAX_BATCH: '50',
        BV_ORDERS_PLACE_IN_FLIGHT: '4',
        BV_CATALOG_PRODUCT_TTL_MS: '1000',
        BV_CATALOG_STOCK_TTL_MS: '200',
        BV_CATALOG_WARM_COUNT: '0',
        BV_CATALOG_READ_COUNT_FLUSH_MS: '5000',
      }),
    );
    expect(settings).toEqual({
      orders: {
        holdSeconds: 60,
        resumeEveryMs: 500,
        checkoutLeaseMs: 3000,
        checkoutConcurrency: 2,
        placeMaxBatch: 50,
        placeInFlight: 4,
      },
      catalog: { productTtlMs: 1000, stockTtlMs: 200, warmCount: 0, readCountFlushMs: 5000 },
    });
    expect(() => loadConfig(cloudConfigSpec, { BV_CHECKOUT_CONCURRENCY: '0' })).toThrow(
      /BV_CHECKOUT_CONCURRENCY/,
    );
  });

  it('bitv-cloud --help lists them with their defaults', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], {
      cwd: cloudDir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(help.status).toBe(0);
    for (const name of [
      'BV_ORDERS_HOLD_SECONDS',
      'BV_CHECKOUT_CONCURRENCY',
      'BV_ORDERS_PLACE_MAX_BATCH',
      'BV_ORDERS_PLACE_IN_FLIGHT',
      'BV_CATALOG_PRODUCT_TTL_MS',
      'BV_CATALOG_WARM_COUNT',
    ])
      expect(help.stdout).toContain(name);
    expect(help.stdout).toMatch(/BV_ORDERS_HOLD_SECONDS .*\[default: 900\]/);
  }, 90_000);
});
