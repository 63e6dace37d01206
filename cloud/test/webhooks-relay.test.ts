import { randomUUID } from 'node:crypto';
import { openDatabase } from '@bitv/shared/db';
import { silentLogger } from '@bitv/shared/log';
import { describe, expect, it } from 'vitest';
import { migrateWebhooks } from '../src/webhooks/migrations.js';
import { DeliveryRelay } from '../src/webhooks/relay.js';
import { deliveryIdOf } from '../src/webhooks/service.js';
import { WebhookStore } from '../src/webhooks/store.js';

/**
 * A store on PGlite with one endpoint and `n` stored deliveries nobody has enqueued yet; `ids`
 * are the delivery ids in event order (computed by `deliveryIdOf`, so the insert's SQL id is
 * checked against it: receivers de-duplicate on it).
 */
async function stored(n: number) {
  const database = await openDatabase();
  await migrateWebhooks(database);
  const store = new WebhookStore(database);
  const endpoint = await store.createEndpoint('partner-1', {
    url: 'https://example.com/hook',
    eventTypes: ['*'],
  });
  const events = Array.from({ length: n }, () => ({
    eventId: randomUUID(),
    eventType: 'bv.order.placed.v1',
    body: '{}',
    committedAt: new Date().toISOString(),
  }));
  expect(await store.insertEventDeliveries(events)).toBe(n);
  expect(await store.insertEventDeliveries(events)).toBe(0); // a redelivered run adds nothing
  const ids = events.map((e) => deliveryIdOf(endpoint.id, e.eventId));
  expect((await store.deliveries(endpoint.id, { limit: n })).map((d) => d.id).reverse()).toEqual(ids);
  return { database, store, ids };
}

describe('the webhook delivery relay', () => {
  it('publishes every stored row once, in batches, and marks them enqueued', async () => {
    const { database, store, ids } = await stored(25);
    const published: string[] = [];
    const relay = new DeliveryRelay(store, async (d) => void published.push(d.id), silentLogger, {
      batchSize: 10,
    });
    relay.wake();
    await relay.idle();
    expect([...published].sort()).toEqual([...ids].sort());
    expect(await store.claimUnenqueued(100, 30_000)).toEqual([]);
    await relay.close();
    await database.close();
  }, 60_000);

  it('leaves a failed publish unenqueued and publishes it again after the retry delay', async () => {
    const { database, store, ids } = await stored(3);
    const published: string[] = [];
    let failures = 0;
    const relay = new DeliveryRelay(
      store,
      async (d) => {
        if (d.id === ids[1] && failures++ === 0) throw new Error('broker unreachable');
        published.push(d.id);
      },
      silentLogger,
      { retryDelayMs: 200 },
    );
    relay.wake();
    await relay.idle();
    expect([...published].sort()).toEqual([ids[0], ids[2]].sort());
    for (let i = 0; i < 100 && !published.includes(ids[1] ?? ''); i++)
      await new Promise((r) => setTimeout(r, 50));
    await relay.idle();
    expect([...published].sort()).toEqual([...ids].sort());
    await relay.close();
    await database.close();
  }, 60_000);

  it('does not touch rows another relay has claimed until the claim lapses (a relay that died)', async () => {
    const { database, store, ids } = await stored(2);
    // Another process claimed both and died before publishing.
    expect(await store.claimUnenqueued(10, 300)).toHaveLength(2);
    const published: string[] = [];
    const relay = new DeliveryRelay(store, async (d) => void published.push(d.id), silentLogger, {
      sweepMs: 100,
    });
    relay.start();
    await relay.idle();
    expect(published).toEqual([]);
    for (let i = 0; i < 100 && published.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect([...published].sort()).toEqual([...ids].sort());
    await relay.close();
    await database.close();
  }, 60_000);
});
