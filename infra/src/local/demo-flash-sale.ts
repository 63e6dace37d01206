import type { CloudHandle } from '@bitv/cloud';
import type { Logger } from '@bitv/shared/log';
import type { FloorCredential } from './demo-floor.js';

/**
 * `npm start`'s flash sale: on the demo site's best-stocked product, starting a minute after the
 * platform is up and running for an hour (10 units, 2 per customer), created through the API by
 * the demo floor account, so the flash-sale page shows a live countdown and, once it runs, the
 * remaining quantity moving with the simulated shelves. Also a first post in the feed.
 */
export async function demoFlashSale(
  cloud: CloudHandle,
  credential: () => FloorCredential | undefined,
  siteId: string,
  logger: Logger,
): Promise<void> {
  const floor = credential();
  if (!floor) return;
  const bins = await cloud.services.inventory.binsOfSite(siteId);
  const best = bins.filter((b) => b.sku !== null).sort((a, b) => b.count - a.count)[0];
  if (!best?.sku) return;
  const headers = { authorization: `Bearer ${floor.token}`, 'content-type': 'application/json' };
  const startsAt = new Date(Date.now() + 60_000);
  const res = await fetch(`${cloud.url}/api/v1/flash-sales`, {
    method: 'POST',
    headers,
    signal: AbortSignal.timeout(10_000),
    body: JSON.stringify({
      sku: best.sku,
      siteId,
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + 3_600_000).toISOString(),
      quantity: 10,
      perCustomerLimit: 2,
    }),
  });
  // The flash-sales module may not be mounted (BV_CLOUD_MODULES): the demo goes on without it.
  if (res.status !== 201) {
    logger.warn({ status: res.status }, 'demo flash sale not created');
    return;
  }
  await fetch(`${cloud.url}/api/v1/feed/posts`, {
    method: 'POST',
    headers,
    signal: AbortSignal.timeout(10_000),
    body: JSON.stringify({ body: `Flash sale on #${best.sku} in a minute: 10 units, 2 per customer.` }),
  }).catch((error: unknown) => logger.warn({ err: error }, 'demo feed post not written'));
  logger.info({ sku: best.sku, startsAt: startsAt.toISOString() }, 'demo flash sale created');
}
