import { randomUUID } from 'node:crypto';
import { openDatabase } from '@bitv/shared/db';
import { describe, expect, it } from 'vitest';
import { matches } from '../src/webhooks/event-types.js';
import { migrateWebhooks } from '../src/webhooks/migrations.js';
import { deliveryIdOf } from '../src/webhooks/service.js';
import { type Endpoint, WebhookStore } from '../src/webhooks/store.js';

describe('storing the deliveries of a run of events (one statement)', () => {
  it('matches in SQL exactly as `matches` does, only enabled endpoints, ids by `deliveryIdOf`, in event order', async () => {
    const database = await openDatabase();
    await migrateWebhooks(database);
    const store = new WebhookStore(database);
    const filters = [
      ['*'],
      ['bv.order.*'],
      ['bv.payment.captured.v1'],
      ['bv.payment.captured.v1', 'bv.alarm.*'],
      ['bv.ord*'], // not a prefix pattern (no `.*`): only that literal type, which none has
      ['bv.order.placed.v1x'],
      ['bv.alarm.changed.v1.*'],
    ];
    const endpoints: Endpoint[] = [];
    for (const eventTypes of filters) {
      endpoints.push(
        await store.createEndpoint('partner-1', { url: 'https://example.com/hook', eventTypes }),
      );
    }
    const disabled = await store.createEndpoint('partner-1', {
      url: 'https://example.com/off',
      eventTypes: ['*'],
    });
    await store.updateEndpoint(disabled.id, { enabled: false });
    const types = [
      'bv.order.placed.v1',
      'bv.payment.captured.v1',
      'bv.payment.failed.v1',
      'bv.alarm.changed.v1',
    ];
    const events = types.map((eventType) => ({
      eventId: randomUUID(),
      eventType,
      body: JSON.stringify({ type: eventType }),
      committedAt: new Date().toISOString(),
    }));
    const expected = endpoints.map((p) =>
      events.filter((e) => matches(p.eventTypes, e.eventType)).map((e) => deliveryIdOf(p.id, e.eventId)),
    );
    expect(expected.map((ids) => ids.length)).toEqual([4, 1, 1, 2, 0, 0, 0]); // the oracle itself
    expect(await store.insertEventDeliveries(events)).toBe(8);
    expect(await store.insertEventDeliveries(events)).toBe(0);
    // Per endpoint in `seq` order (deliveries() lists the newest first): the events' order.
    const stored = await Promise.all(endpoints.map(async (p) => (await store.deliveries(p.id)).reverse()));
    expect(stored.map((rows) => rows.map((r) => r.id))).toEqual(expected);
    expect(await store.deliveries(disabled.id)).toEqual([]);
    await database.close();
  }, 60_000);
});
