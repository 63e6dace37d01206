import { callUnary, loadOrderService, type OrderServiceClient } from '@bitv/proto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from './harness.js';

describe('gRPC OrderService', () => {
  let t: TestCloud;
  let client: OrderServiceClient;
  let shopper: grpc.Metadata;
  let stranger: grpc.Metadata;
  const bearer = (token: string) => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${token}`);
    return m;
  };

  beforeAll(async () => {
    t = await startTestCloud('pglite', { grpcPort: 0, modules: ['registry', 'inventory', 'orders'] });
    await t.cloud.seedDemo({
      siteId: 'site-1',
      gatewayId: 'gw-1',
      shelves: [{ serialNumber: 'G-1', bins: [{ sku: 'G-BOLT', unitWeightG: 10, count: 5 }] }],
    });
    const { Client } = loadOrderService();
    client = new Client(t.cloud.grpcUrl as string, grpc.credentials.createInsecure());
    shopper = bearer(await t.token('partner'));
    stranger = bearer(await t.token('partner'));
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it('places, reads with the timeline, refuses bad input and other shoppers, cancels', async () => {
    const request = {
      site_id: 'site-1',
      lines: [{ line_id: '', sku: 'G-BOLT', quantity: 2 }],
      idempotency_key: 'g-1',
    };
    const placed = await callUnary(client.PlaceOrder, client, request, shopper);
    expect(placed.status).toBe('placed');
    const again = await callUnary(client.PlaceOrder, client, request, shopper);
    expect(again.order_id).toBe(placed.order_id);
    await expect(
      callUnary(
        client.PlaceOrder,
        client,
        { ...request, lines: [{ line_id: '', sku: 'G-BOLT', quantity: 3 }] },
        shopper,
      ),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await expect(
      callUnary(
        client.PlaceOrder,
        client,
        { site_id: 'site-1', lines: [{ line_id: '', sku: 'G-BOLT', quantity: 0 }] },
        shopper,
      ),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const detail = await callUnary(client.GetOrder, client, { order_id: placed.order_id }, shopper);
    expect(detail.timeline[0]?.type).toBe('bv.order.placed.v1');
    await expect(
      callUnary(client.GetOrder, client, { order_id: placed.order_id }, stranger),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    const cancelled = await callUnary(
      client.CancelOrder,
      client,
      { order_id: placed.order_id, reason: 'no' },
      shopper,
    );
    expect(cancelled.status).toBe('cancelled');
  }, 120_000);
});
