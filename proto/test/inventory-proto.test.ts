import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callUnary,
  type InventoryServiceClient,
  loadInventoryService,
  type Reservation,
} from '../src/index.js';

// Round-trips every method of the service through a real server on port 0, so a field renamed in
// the .proto without the TypeScript shapes following shows up here.
describe('inventory.proto', () => {
  const { service, Client } = loadInventoryService();
  const server = new grpc.Server();
  let client: InventoryServiceClient;

  beforeAll(async () => {
    const reservation = (id: string, status: string): Reservation => ({
      id,
      sku: 'SKU-1',
      quantity: 2,
      reference: 'order-7',
      status,
      expires_at: '2030-01-01T00:00:00.000Z',
    });
    server.addService(service, {
      GetStock: (call: grpc.ServerUnaryCall<{ sku: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, {
          sku: call.request.sku,
          on_hand: 10,
          reserved: 2,
          available: 8,
          bins: [{ site_id: 's', shelf_id: 'shelf-1', bin: 3, count: 10, confidence: 0.9 }],
        }),
      Reserve: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, reservation('r1', 'active')),
      Release: (
        call: grpc.ServerUnaryCall<{ reservation_id: string }, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => cb(null, reservation(call.request.reservation_id, 'released')),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server.forceShutdown();
  });

  it('carries every field of GetStock, Reserve and Release', async () => {
    const stock = await callUnary(client.GetStock, client, { sku: 'SKU-1' });
    expect(stock).toEqual({
      sku: 'SKU-1',
      on_hand: 10,
      reserved: 2,
      available: 8,
      bins: [{ site_id: 's', shelf_id: 'shelf-1', bin: 3, count: 10, confidence: 0.9 }],
    });
    const held = await callUnary(client.Reserve, client, { sku: 'SKU-1', quantity: 2, reference: 'order-7' });
    expect(held.status).toBe('active');
    const released = await callUnary(client.Release, client, { reservation_id: 'r1' });
    expect(released).toMatchObject({ id: 'r1', status: 'released', quantity: 2 });
  });
});
