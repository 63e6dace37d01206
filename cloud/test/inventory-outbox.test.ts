import { openDatabase } from '@bitv/shared/db';
import { UnavailableError } from '@bitv/shared/errors';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { type BvEvent, platformEvents, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually, tempDir, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { startCloud } from '../src/index.js';

/**
 * `bv.inventory` events go through the transactional outbox: a count that committed is announced
 * even when the process cannot publish it before it stops (before the outbox, the event was lost).
 */
describe('inventory events through the outbox (PGlite)', () => {
  it('announces a count and a reservation committed while bv.inventory could not be published, once the cloud is back', async () => {
    const dir = await tempDir('bv-inventory-outbox-');
    let database = await openDatabase({ dataDir: dir.path });
    try {
      const registry = createRegistry();
      const log = await createEventLog({
        database,
        registry: platformEvents(),
        metrics: registry,
        databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
      });
      // First life: every publish to bv.inventory fails (the broker is away until the process stops).
      const refusing: EventLog = {
        kind: log.kind,
        publish: async (topic, events) => {
          if (topic === topics.inventory) throw new UnavailableError('event log unreachable');
          await log.publish(topic, events);
        },
        subscribe: (options) => log.subscribe(options),
        ping: () => log.ping(),
        consumers: () => log.consumers(),
        close: async () => undefined,
      };
      const first = await startCloud(
        { port: 0, grpcPort: -1 },
        { database, eventLog: refusing, logger: silentLogger, registry },
      );
      await first.seedDemo({
        shelves: [{ serialNumber: 'OB1', bins: [{ sku: 'OB-1', unitWeightG: 100, count: 5, tareG: 500 }] }],
      });
      const shelfId = 'shelf-OB1';
      const { bin } = await first.services.inventory.setCount({
        shelfId,
        bin: 0,
        reason: 'cycle_count',
        counted: 3,
        actor: 'test',
      });
      expect(bin.count).toBe(3);
      const held = await first.services.reservations.reserve({
        sku: 'OB-1',
        quantity: 2,
        reference: 'outbox-test',
        ttlSeconds: 600,
      });
      const pending = async () =>
        Number(
          (
            await sql<{ n: number }>`SELECT count(*)::integer AS n FROM bv_es_outbox
              WHERE delivered_at IS NULL AND event->>'type' = 'bv.inventory.stock-changed.v1'
              AND (event->'data'->>'count')::integer = 3`.execute(database.kysely)
          ).rows[0]?.n,
        );
      expect(await pending()).toBe(1);
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
        topics: [topics.inventory],
        handler: async (e) => {
          seen.push(e);
        },
      });
      const second = await startCloud(
        { port: 0, grpcPort: -1 },
        { database, eventLog: log2, logger: silentLogger, registry: createRegistry() },
      );
      try {
        const arrived = await eventually(
          () =>
            seen.find(
              (e) =>
                e.type === 'bv.inventory.stock-changed.v1' &&
                (e.data as { shelfId: string; count: number }).shelfId === shelfId &&
                (e.data as { count: number }).count === 3,
            ),
          'the stock-changed event of the count',
          60_000,
        );
        expect((arrived.data as { previousCount: number }).previousCount).toBe(5);
        await eventually(
          () =>
            seen.find(
              (e) =>
                e.type === 'bv.inventory.reservation-changed.v1' &&
                (e.data as { reservationId: string }).reservationId === held.id,
            ),
          'the reservation event',
          60_000,
        );
        await eventually(async () => (await pending()) === 0, 'the outbox row marked delivered');
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
