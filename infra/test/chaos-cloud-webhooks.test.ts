import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createEvent, orderPlacedV1, topics } from '@bitv/shared/events';
import { amqpUrl, serverAvailable } from '@bitv/shared/testing';
import { FaultProxy } from '@bitv/shared/testing/fault-proxy';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, startTestCloud, type TestCloud } from '../../cloud/test/harness.js';
import { pause, proxyLine, until } from './chaos-harness.js';

const available = await serverAvailable('rabbitmq');

/**
 * The same chaos through a whole cloud: the cloud (webhooks module, `AMQP_URL` pointing at a fault
 * proxy in front of the real RabbitMQ) turns order events from its event log into webhooks for a
 * partner endpoint registered over the REST API, whose receiver sits behind a second proxy. The
 * breaker is read from the cloud's own `/metrics`. Faults: the RabbitMQ connection reset while
 * deliveries are in flight, the receiver down for the compressed equivalent of hours, then back.
 */
describe.skipIf(!available)('chaos: a cloud delivering webhooks through RabbitMQ, both links faulty', () => {
  let t: TestCloud;
  let receiver: Server;
  let receiverProxy: FaultProxy;
  let rabbitProxy: FaultProxy;
  let secret = '';
  let endpointId = '';
  const received = new Map<string, number>();
  const orders = new Set<string>();
  let forged = 0;
  const states = new Set<number>();
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      // The proxy in front resets connections on purpose: a reset request or answer is the fault
      // under test (the sender retries), not an error of the receiver.
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const payload = new Webhook(secret).verify(
            Buffer.concat(chunks).toString(),
            req.headers as Record<string, string>,
          ) as {
            data: { orderId: string };
          };
          received.set(payload.data.orderId, (received.get(payload.data.orderId) ?? 0) + 1);
          res.writeHead(204).end();
        } catch {
          forged++;
          res.writeHead(400).end();
        }
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    receiverProxy = await FaultProxy.start({
      upstream: `127.0.0.1:${(receiver.address() as { port: number }).port}`,
      name: 'receiver',
    });
    const target = new URL(amqpUrl());
    rabbitProxy = await FaultProxy.start({
      upstream: `${target.hostname}:${target.port || 5672}`,
      name: 'rabbitmq',
    });
    const viaProxy = new URL(amqpUrl());
    viaProxy.host = rabbitProxy.address;
    t = await startTestCloud('pglite', {
      modules: ['webhooks'],
      webhooks: {
        amqpUrl: viaProxy.toString(),
        allowPrivate: true,
        // Svix's 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h compressed ~7,500 times
        schedule: '0,50ms,100ms,250ms,1s,2500ms,4800ms,4800ms',
        timeoutMs: 500,
        queueName: `bv.chaos.${randomUUID().slice(0, 8)}`,
      },
    });
    const partner = await t.token('partner');
    const res = await fetch(
      `${t.cloud.url}/api/v1/webhooks/endpoints`,
      authed(partner, { url: `http://${receiverProxy.address}/hooks`, eventTypes: ['bv.order.*'] }),
    );
    expect(res.status).toBe(201);
    ({ id: endpointId, secret } = (await res.json()) as { id: string; secret: string });
    sampler = setInterval(() => {
      void fetch(`${t.cloud.url}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          const line = text
            .split('\n')
            .find((l) => l.startsWith(`bv_dependency_breaker_state{dependency="webhook:${endpointId}"}`));
          if (line) states.add(Number(line.split(' ').pop()));
        })
        .catch(() => undefined);
    }, 100);
  }, 120_000);

  afterAll(async () => {
    clearInterval(sampler);
    await t?.close();
    await rabbitProxy?.close();
    await receiverProxy?.close();
    receiver?.close();
  });

  const place = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const orderId = randomUUID();
      orders.add(orderId);
      await t.eventLog.publish(
        topics.orders,
        createEvent(orderPlacedV1, {
          source: '/bitv/cloud/orders',
          key: orderId,
          data: {
            orderId,
            customerId: 'c-1',
            siteId: 'site-1',
            lines: [{ lineId: 'l1', sku: 'SKU-1', quantity: 1 }],
            placedBy: 'user:c-1',
            placedAt: new Date().toISOString(),
          },
        }),
      );
    }
  };
  const lost = () => [...orders].filter((id) => !received.has(id));

  it('0 webhooks lost; the endpoint breaker (in the cloud’s /metrics) opens and closes again', async () => {
    await place(5);
    expect(await until(() => lost().length === 0)).toBe(true);

    // RabbitMQ reset while the receiver is slow (deliveries in flight), then back
    receiverProxy.addToxic({ type: 'latency', attributes: { latency: 300 } });
    await place(10);
    await pause(200);
    rabbitProxy.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } });
    expect(await until(() => rabbitProxy.stats().resets > 0, 50)).toBe(true);
    rabbitProxy.clearToxics();
    receiverProxy.clearToxics();

    // the receiver down for "hours": the breaker opens, deliveries are held, then it is back
    await receiverProxy.disable();
    await place(10);
    expect(await until(() => states.has(2), 150)).toBe(true);
    await pause(3_000);
    await receiverProxy.enable();
    await place(5);

    // bounded: the endpoint's breaker stays open 30 s before its trial delivery
    const done = await until(() => lost().length === 0, 900, 100);
    const duplicates = [...received.values()].reduce((s, n) => s + n - 1, 0);
    const metrics = await (await fetch(`${t.cloud.url}/metrics`)).text();
    const state = metrics
      .split('\n')
      .find((l) => l.startsWith(`bv_dependency_breaker_state{dependency="webhook:${endpointId}"}`));
    console.log(
      [
        `cloud webhooks chaos: ${orders.size} order events, ${received.size} delivered, lost ${lost().length}, duplicates ${duplicates}, forged ${forged}`,
        `  breaker states seen in /metrics: ${[...states].sort().join(', ')} (0 closed, 1 half-open, 2 open); now: ${state}`,
        `  ${proxyLine(receiverProxy)}`,
        `  ${proxyLine(rabbitProxy)}`,
      ].join('\n'),
    );
    expect(done).toBe(true);
    expect(lost()).toEqual([]);
    expect(forged).toBe(0);
    expect(states.has(2)).toBe(true);
    expect(state?.endsWith(' 0')).toBe(true);
  }, 180_000);
});
