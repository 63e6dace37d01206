import { callUnary, type InventoryServiceClient, loadInventoryService } from '@bitv/proto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from './harness.js';

let t: TestCloud;
let client: InventoryServiceClient;
const meta = (token: string) => {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
};

beforeAll(async () => {
  t = await startTestCloud('pglite', { grpcPort: 0 });
  await t.cloud.seedDemo({
    shelves: [
      {
        serialNumber: 'G1',
        bins: [
          { sku: 'PEN', unitWeightG: 10, count: 12 },
          { sku: 'PEN', unitWeightG: 10, count: 3 },
        ],
      },
    ],
  });
  const { Client } = loadInventoryService();
  client = new Client(t.cloud.grpcUrl as string, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('gRPC InventoryService', () => {
  it('gets stock, reserves and releases', async () => {
    const token = await t.token('operator');
    const stock = await callUnary(client.GetStock, client, { sku: 'PEN' }, meta(token));
    expect(stock).toMatchObject({ sku: 'PEN', on_hand: 15, reserved: 0, available: 15 });
    expect(stock.bins.map((b) => b.count)).toEqual([12, 3]);
    const held = await callUnary(
      client.Reserve,
      client,
      { sku: 'PEN', quantity: 10, reference: 'grpc-1' },
      meta(token),
    );
    expect(held.status).toBe('active');
    await expect(
      callUnary(client.Reserve, client, { sku: 'PEN', quantity: 10, reference: 'grpc-2' }, meta(token)),
    ).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    expect((await callUnary(client.GetStock, client, { sku: 'PEN' }, meta(token))).available).toBe(5);
    const released = await callUnary(client.Release, client, { reservation_id: held.id }, meta(token));
    expect(released.status).toBe('released');
  });

  it('refuses calls without a token, with a staff token, and reports unknown SKUs as NOT_FOUND', async () => {
    await expect(callUnary(client.GetStock, client, { sku: 'PEN' })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    const staff = await t.token('staff');
    await expect(callUnary(client.GetStock, client, { sku: 'PEN' }, meta(staff))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const admin = await t.token('admin');
    await expect(callUnary(client.GetStock, client, { sku: 'NOPE' }, meta(admin))).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});
