import { describe, expect, it } from 'vitest';
import { createRegistry } from '../metrics/index.js';
import { describeCacheContract, quietLogger } from './contract.js';
import { openCache } from './open.js';

describeCacheContract('memory', {
  // each group is its own process-local cache; there is no second instance to share with
  open: async ({ group, peer, registry }) =>
    peer ? undefined : openCache({ logger: quietLogger(), metrics: registry, name: group }),
});

describe('memory cache bounds', () => {
  it('drops the least recently read entry when full', async () => {
    const cache = await openCache({ logger: quietLogger(), metrics: createRegistry(), maxEntries: 3 });
    await cache.set('a', 1, 10_000);
    await cache.set('b', 2, 10_000);
    await cache.set('c', 3, 10_000);
    await cache.get('a');
    await cache.set('d', 4, 10_000);
    expect(await cache.get('b')).toBeUndefined();
    expect([await cache.get('a'), await cache.get('c'), await cache.get('d')]).toEqual([1, 3, 4]);
  });

  it('refuses a jitter outside [0, 1)', async () => {
    await expect(openCache({ logger: quietLogger(), metrics: createRegistry(), jitter: 1 })).rejects.toThrow(
      /jitter/,
    );
  });
});
