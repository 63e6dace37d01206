import { describe } from 'vitest';
import { amqpUrl, serverAvailable } from '../testing/servers.js';
import { startCutProxy } from './cut-proxy.js';
import { describeQueueContract, quietLogger, testRegistry } from './queue.contract.js';
import { openRabbitQueue } from './rabbitmq.js';

const available = await serverAvailable('rabbitmq');

describe.skipIf(!available)('rabbitmq', () => {
  describeQueueContract('rabbitmq (quorum queues, confirms, TTL retry queues)', {
    open: async ({ failureDelayMs }) => {
      const target = new URL(amqpUrl());
      // Through a proxy the test can cut, as a dropped network or a broker restart would.
      const proxy = await startCutProxy(target.hostname, Number(target.port || 5672));
      const queue = await openRabbitQueue({
        url: proxy.url(amqpUrl()),
        logger: quietLogger(),
        metrics: testRegistry(),
        timeoutMs: 5_000,
        failureDelayMs,
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      });
      return {
        queue,
        cut: async () => proxy.cut(),
        dispose: async () => {
          await queue.close();
          await proxy.close();
        },
      };
    },
  });
});
