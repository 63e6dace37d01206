import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../metrics/index.js';
import { redisUrl, serverAvailable } from '../testing/servers.js';
import { uniqueName } from '../testing/temp.js';
import { describeCacheContract, quietLogger } from './contract.js';
import { openCache } from './open.js';

const available = await serverAvailable('redis');
const run = uniqueName('bvcache');

describe.skipIf(!available)('redis', () => {
  describeCacheContract('redis', {
    open: ({ group, registry }) =>
      openCache({
        redisUrl: redisUrl(),
        logger: quietLogger(),
        metrics: registry,
        prefix: `${run}:${group}:`,
      }),
  });

  describeCacheContract('redis with a near cache', {
    open: ({ group, registry }) =>
      openCache({
        redisUrl: redisUrl(),
        logger: quietLogger(),
        metrics: registry,
        prefix: `${run}:near:${group}:`,
        nearTtlMs: 60_000,
      }),
  });
});

// A server that accepts connections and never answers: Redis hung, or a black-holed network.
describe('redis cache against a Redis that does not answer', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let url = '';
  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = silent.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    url = `redis://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('turns reads into misses and writes into counted failures within the time limit', async () => {
    const registry = createRegistry();
    const cache = await openCache({
      redisUrl: url,
      logger: quietLogger(),
      metrics: registry,
      timeoutMs: 100,
    });
    try {
      expect(cache.kind).toBe('redis');
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', 1, 1_000);
      await cache.invalidate('k');
      expect(await cache.getOrLoad('k', 1_000, async () => 'from source')).toBe('from source');
      await expect(cache.publish('c', 'm')).rejects.toThrow(/timed out|longer than 100 ms/);
      await expect(cache.ping()).rejects.toThrow();
      const errors = await registry.getSingleMetric('bv_cache_errors_total')?.get();
      const by = (op: string) => errors?.values.find((v) => v.labels.operation === op)?.value ?? 0;
      expect(by('get')).toBeGreaterThanOrEqual(2);
      expect(by('set')).toBeGreaterThanOrEqual(1);
      expect(by('delete')).toBeGreaterThanOrEqual(1);
      expect(by('publish')).toBe(1);
    } finally {
      await cache.close();
    }
  });
});
