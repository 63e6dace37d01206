import { openDatabase } from '@bitv/shared/db';
import { UnavailableError } from '@bitv/shared/errors';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { type BvEvent, createEvent, orderConfirmedV1, platformEvents, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { startCloud } from '../src/index.js';

/**
 * `bv.fulfilment` events go through the transactional outbox: a pick list that committed is
 * announced even when the process cannot publish before it stops (before the outbox, the event
 * published after the commit was lost). The cloud mounts fulfilment with only the modules it
 * needs: the relay that publishes is inventory's (orders, with its own relay, is not mounted).
 */
describe('fulfilment events through the outbox (PGlite)', () => {
  it('announces a pick list committed while bv.fulfilment could not be published, once the cloud is back', async () => {
    const dir = await tempDir('bv-fulfilment-outbox-');
    const modules = ['registry', 'inventory', 'commands', 'fulfilment'];
    const orderId = 'order-outbox-1';
    let database = await openDatabase({ dataDir: dir.path });
    try {
      const log = await createEventLog({
        database,
        registry: platformEvents(),
        metrics: createRegistry(),
        databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
      });
      // First life: every publish to bv.fulfilment fails (the broker is away until the process stops).
      const refusing: EventLog = {
        kind: log.kind,
        publish: async (topic, events) => {
          if (topic === topics.fulfilment) throw new UnavailableError('event log unreachable');
          await log.publish(topic, events);
        },
        subscribe: (options) => log.subscribe(options),
        ping: () => log.ping(),
        consumers: () => log.consumers(),
        close: async () => undefined,
      };
      const first = await startCloud(
        { port: 0, grpcPort: -1, modules },
        { database, eventLog: refusing, logger: silentLogger, registry: createRegistry() },
      );
      await first.seedDemo({
        shelves: [{ serialNumber: 'FO1', bins: [{ sku: 'FO-1', unitWeightG: 100, count: 5, tareG: 500 }] }],
      });
      // The order's confirmation reaches fulfilment through bv.orders, which still works.
      await log.publish(
        topics.orders,
        createEvent(orderConfirmedV1, {
          source: '/test',
          key: orderId,
          data: {
            orderId,
            siteId: 'demo-site',
            customerId: 'customer-1',
            lines: [{ lineId: 'l1', sku: 'FO-1', quantity: 2 }],
            confirmedAt: new Date().toISOString(),
          },
        }),
      );
      const pending = async () =>
        Number(
          (
            await sql<{ n: number }>`SELECT count(*)::integer AS n FROM bv_es_outbox
              WHERE delivered_at IS NULL AND topic = ${topics.fulfilment}
              AND event->>'type' = 'bv.pick.list-created.v1' AND event->'data'->>'orderId' = ${orderId}`.execute(
              database.kysely,
            )
          ).rows[0]?.n,
        );
      await eventually(
        async () => (await pending()) === 1,
        'the pick list committed with its event queued',
        60_000,
      );
      const rows = await sql<{
        n: number;
      }>`SELECT count(*)::integer AS n FROM pick_lists WHERE order_id = ${orderId}`.execute(database.kysely);
      expect(rows.rows[0]?.n).toBe(1);
      await first.close();
      await log.close();
      // The process is gone; a new one opens the same folder, with a log that works.
      await database.close();
      database = await openDatabase({ dataDir: dir.path });
      const log2 = await createEventLog({
        database,
        registry: platformEvents(),
        metrics: createRegistry(),
        databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
      });
      const seen: BvEvent[] = [];
      const watch = await log2.subscribe({
        group: uniqueName('watch'),
        topics: [topics.fulfilment],
        handler: async (e) => {
          seen.push(e);
        },
      });
      const second = await startCloud(
        { port: 0, grpcPort: -1, modules },
        { database, eventLog: log2, logger: silentLogger, registry: createRegistry() },
      );
      try {
        const created = await eventually(
          () =>
            seen.find(
              (e) =>
                e.type === 'bv.pick.list-created.v1' && (e.data as { orderId: string }).orderId === orderId,
            ),
          'the list-created event of the pick list',
          60_000,
        );
        expect((created.data as { lines: { sku: string; quantity: number }[] }).lines).toMatchObject([
          { sku: 'FO-1', quantity: 2 },
        ]);
        await eventually(async () => (await pending()) === 0, 'the outbox row marked delivered', 60_000);
      } finally {
        await watch.close();
        await second.close();
        await log2.close();
      }
    } finally {
      await database.close();
      await dir.remove();
    }
  }, 120_000);
});
