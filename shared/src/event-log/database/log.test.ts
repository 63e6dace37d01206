import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../db/index.js';
import { type BvEvent, deadLetterTopic, EventRegistry } from '../../events/index.js';
import { createRegistry } from '../../metrics/index.js';
import { eventually, uniqueName } from '../../testing/index.js';
import { contractEvent, makeEvent } from '../contract-events.js';
import { createEventLog } from '../create.js';
import { deadLetterAttributes } from '../delivery.js';
import type { EventLog, Subscription } from '../port.js';
import { DatabaseEventLog } from './log.js';

// Behaviour of the database log beyond the shared contract, on in-memory PGlite.
describe('database event log (PGlite)', () => {
  let database: Database;
  let metrics: Registry;
  const closers: Array<() => Promise<void>> = [];
  const tuning = { leaseMs: 1_000, pollIntervalMs: 50, retentionIntervalMs: 0 };

  // One in-memory database for the file (PGlite takes seconds to start); every test has its own topics.
  beforeAll(async () => {
    database = await openDatabase();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(() => {
    metrics = createRegistry();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function openLog(
    topic: string,
    registry = new EventRegistry([contractEvent(topic)]),
  ): Promise<EventLog> {
    const log = await createEventLog({ database, databaseLog: tuning, registry, metrics });
    closers.push(() => log.close());
    return log;
  }
  function keep(subscription: Subscription): Subscription {
    closers.push(() => subscription.close());
    return subscription;
  }
  /** Offsets group `g` committed on the topic, summed over its partitions. */
  async function committed(topic: string): Promise<number> {
    const { rows } = await sql<{ next_offset: string }>`SELECT next_offset FROM bv_event_log_commits
      WHERE group_id = 'g' AND topic = ${topic}`.execute(database.kysely);
    return rows.reduce((sum, r) => sum + Number(r.next_offset), 0);
  }

  it('dead-letters a stored record that is not a valid event, counts it, and goes on', async () => {
    const topic = uniqueName('db.invalid');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    await log.publish(topic, makeEvent(definition, 'k', 0));
    // A record written by something else (an older version, a manual fix) that is not a CloudEvent.
    await sql`INSERT INTO bv_event_log_events (topic, partition, position, key, event)
      SELECT topic, partition, next_offset, 'k', '{"hello":"world","partitionkey":"k"}'::jsonb
      FROM bv_event_log_partitions WHERE topic = ${topic} AND partition = (
        SELECT partition FROM bv_event_log_events WHERE topic = ${topic} LIMIT 1)`.execute(database.kysely);
    await sql`UPDATE bv_event_log_partitions SET next_offset = next_offset + 1 WHERE topic = ${topic}
      AND partition = (SELECT partition FROM bv_event_log_events WHERE topic = ${topic} LIMIT 1)`.execute(
      database.kysely,
    );
    await log.publish(topic, makeEvent(definition, 'k', 2));

    const got: number[] = [];
    keep(
      await log.subscribe({
        group: 'g',
        topics: [topic],
        handler: async (e) => void got.push((e.data as { n: number }).n),
      }),
    );
    const dead: unknown[] = [];
    const rows = async () =>
      (
        await sql<{
          event: Record<string, unknown>;
        }>`SELECT event FROM bv_event_log_events WHERE topic = ${deadLetterTopic(topic)}`.execute(
          database.kysely,
        )
      ).rows;
    await eventually(() => got.length >= 2, 'the two valid events');
    expect(got).toEqual([0, 2]);
    await eventually(async () => (await rows()).length === 1, 'the dead-lettered record');
    dead.push(...(await rows()).map((r) => r.event));
    expect(dead[0]).toMatchObject({ hello: 'world', [deadLetterAttributes.group]: 'g' });
    expect(String((dead[0] as Record<string, unknown>)[deadLetterAttributes.reason])).toMatch(
      /ValidationError/,
    );
    const invalid = await metrics.getSingleMetric('bv_event_log_invalid_records_total')?.get();
    expect(invalid?.values.find((v) => v.labels.topic === topic)?.value).toBe(1);
  });

  it('hands a run of events to a batch handler, commits once per run, and falls back to one at a time when it throws', async () => {
    const topic = uniqueName('db.batch');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    // One key: one partition, so the order and the runs are the partition's.
    await log.publish(
      topic,
      Array.from({ length: 10 }, (_, n) => makeEvent(definition, 'k', n)),
    );
    const batches: number[][] = [];
    const single: number[] = [];
    let failOnce = true;
    keep(
      await log.subscribe({
        group: 'g',
        topics: [topic],
        handler: async (e) => void single.push((e.data as { n: number }).n),
        batchHandler: async (events) => {
          const ns = events.map((e) => (e.data as { n: number }).n);
          if (failOnce && ns.includes(12)) {
            failOnce = false;
            throw new Error('a batch that fails once');
          }
          batches.push(ns);
        },
      }),
    );
    await eventually(() => batches.flat().length + single.length >= 10, 'the first ten');
    expect(batches.flat().length).toBeGreaterThan(1);
    expect([...batches.flat(), ...single].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The last commit may still be on its way when the handler returns.
    await eventually(async () => (await committed(topic)) === 10, 'ten committed');

    // A failing run: every event of it still handled, one at a time, and nothing twice.
    batches.length = 0;
    single.length = 0;
    await log.publish(
      topic,
      Array.from({ length: 5 }, (_, i) => makeEvent(definition, 'k', 10 + i)),
    );
    await eventually(() => batches.flat().length + single.length >= 5, 'the next five');
    expect(failOnce).toBe(false);
    expect(single).toContain(12);
    expect([...batches.flat(), ...single].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14]);
  });

  it('stops a worker whose lease was taken within an event or two, and commits nothing more', async () => {
    const topic = uniqueName('db.fenced');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    const handled: number[] = [];
    keep(
      await log.subscribe({
        group: 'g',
        topics: [topic],
        handler: async (e) => {
          handled.push((e.data as { n: number }).n);
          await new Promise((r) => setTimeout(r, 20));
        },
      }),
    );
    await log.publish(
      topic,
      [0, 1, 2].map((n) => makeEvent(definition, 'k', n)),
    );
    await eventually(async () => (await committed(topic)) === 3, 'three handled and committed');
    // Another member takes the partition (as after this one stalled past its lease).
    await sql`UPDATE bv_event_log_leases SET owner = 'thief', expires_at = now() + interval '1 hour'
      WHERE group_id = 'g' AND topic = ${topic}`.execute(database.kysely);
    await log.publish(
      topic,
      [3, 4, 5, 6, 7, 8, 9].map((n) => makeEvent(definition, 'k', n)),
    );
    // The first event after the steal is handled (its commit is what gets refused); then any
    // more the worker would handle have time to show.
    await eventually(() => handled.length > 3, 'an event after the steal');
    await new Promise((r) => setTimeout(r, 500));
    // A commit goes out while the next event is handled, so the refusal is seen one event late.
    expect(handled.length - 3).toBeLessThanOrEqual(2);
    expect(await committed(topic)).toBe(3);
  });

  it('gives each partition to one member of a group at a time and fails over when it leaves', async () => {
    const topic = uniqueName('db.members');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    const inFlight = new Map<number, number>();
    let overlap = false;
    const seen: Array<{ member: string; id: string }> = [];
    const handler = (member: string) => async (event: BvEvent, context: { partition: number }) => {
      const n = (inFlight.get(context.partition) ?? 0) + 1;
      inFlight.set(context.partition, n);
      if (n > 1) overlap = true;
      await new Promise((r) => setTimeout(r, 1));
      seen.push({ member, id: event.id });
      inFlight.set(context.partition, n - 1);
    };
    const a = await log.subscribe({ group: 'g', topics: [topic], handler: handler('a') });
    keep(await log.subscribe({ group: 'g', topics: [topic], handler: handler('b') }));
    const first = Array.from({ length: 40 }, (_, i) => makeEvent(definition, `k${i % 10}`, i));
    await log.publish(topic, first);
    await eventually(() => seen.length >= 40, 'the first 40 events');
    await a.close(); // releases its leases: the other member takes over at its next renewal
    const second = Array.from({ length: 20 }, (_, i) => makeEvent(definition, `k${i % 10}`, 40 + i));
    await log.publish(topic, second);
    await eventually(() => seen.length >= 60, 'the next 20 events');
    expect(overlap).toBe(false);
    expect(new Set(seen.map((s) => s.id)).size).toBe(60); // each event exactly once: no double handling
    expect(seen.slice(40).every((s) => s.member === 'b')).toBe(true);
  });

  it('shares the partitions between the members of a group', async () => {
    const topic = uniqueName('db.share');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    const byMember = { a: 0, b: 0 };
    keep(await log.subscribe({ group: 'share', topics: [topic], handler: async () => void byMember.a++ }));
    keep(await log.subscribe({ group: 'share', topics: [topic], handler: async () => void byMember.b++ }));
    await eventually(async () => {
      const { rows } = await sql<{ owner: string; n: number }>`SELECT owner, count(*)::integer AS n
        FROM bv_event_log_leases WHERE group_id = 'share' AND topic = ${topic} AND expires_at > now()
        GROUP BY owner`.execute(database.kysely);
      return rows.length === 2 && rows.every((r) => r.n === 2);
    }, 'two partitions each');
    await log.publish(
      topic,
      Array.from({ length: 40 }, (_, i) => makeEvent(definition, `k${i % 10}`, i)),
    );
    await eventually(() => byMember.a + byMember.b >= 40, 'all 40 events');
    expect(byMember.a).toBeGreaterThan(0);
    expect(byMember.b).toBeGreaterThan(0);
    expect(byMember.a + byMember.b).toBe(40);
  });

  it('cleans up only events that every group has passed', async () => {
    const topic = uniqueName('db.retention');
    const definition = contractEvent(topic);
    const log = await openLog(topic);
    if (!(log instanceof DatabaseEventLog)) throw new Error('expected the database log');
    await log.publish(
      topic,
      Array.from({ length: 10 }, (_, n) => makeEvent(definition, 'k', n)),
    );
    let fastDone = 0;
    keep(await log.subscribe({ group: 'fast', topics: [topic], handler: async () => void fastDone++ }));
    let slowDone = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    keep(
      await log.subscribe({
        group: 'slow',
        topics: [topic],
        handler: async (e) => {
          if ((e.data as { n: number }).n >= 4) await gate; // stuck at n = 4 until the test ends
          slowDone++;
        },
      }),
    );
    closers.push(async () => release()); // closers run last-first: before the close that waits for the handler
    await eventually(() => fastDone === 10 && slowDone === 4, 'fast done, slow stuck at 4');
    await eventually(
      async () =>
        Number(
          (
            await sql<{ n: string }>`SELECT min(next_offset) AS n FROM bv_event_log_commits
              WHERE group_id = 'slow' AND topic = ${topic} AND next_offset > 0`.execute(database.kysely)
          ).rows[0]?.n,
        ) === 4,
      'slow group commit at 4',
    );
    // The database is shared with the other tests, so count this topic's rows, not the total deleted.
    const left = async () =>
      (
        await sql<{
          n: number;
        }>`SELECT count(*)::integer AS n FROM bv_event_log_events WHERE topic = ${topic}`.execute(
          database.kysely,
        )
      ).rows[0]?.n;
    await log.cleanup({ retentionMs: 3_600_000 });
    expect(await left()).toBe(10); // none old enough
    await log.cleanup({ retentionMs: 0 });
    expect(await left()).toBe(6); // the slow group still needs 4..9
    // A group silent for longer than groupRetentionMs no longer holds events back.
    await log.cleanup({ retentionMs: 0, groupRetentionMs: 0 });
    expect(await left()).toBe(0);
  });
});
