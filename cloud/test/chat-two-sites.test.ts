import { openCache } from '@bitv/shared/cache';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog, type Subscription } from '@bitv/shared/event-log';
import { migrateEventStore, type OutboxRelay, startOutboxRelay } from '@bitv/shared/event-store';
import { chatEventV1, platformEvents, topics } from '@bitv/shared/events';
import { HybridLogicalClock } from '@bitv/shared/hlc';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { afterAll, describe, expect, it } from 'vitest';
import { RoomFeeds } from '../src/chat/feeds.js';
import { migrateChat } from '../src/chat/migrations.js';
import { ChatService } from '../src/chat/service.js';
import { ChatStore, roomView } from '../src/chat/store.js';

/**
 * Active-active chat across two sites: each site has its OWN database (PGlite here) and takes
 * writes to the same room; each publishes its writes through its transactional outbox onto the
 * event log between the sites (`bv.chat`), and applies the other's idempotently. A partition is
 * the replication consumers stopped while both sites keep writing; the heal restarts them from
 * their committed offsets. Both sites must end with the same history in the same (HLC) order.
 */
interface Site {
  name: string;
  database: Database;
  service: ChatService;
  relay: OutboxRelay;
  replication?: Subscription;
  close(): Promise<void>;
}

const room = 'site:shared-floor';

async function openSite(name: string, log: EventLog, now?: () => number): Promise<Site> {
  const database = await openDatabase();
  await migrateEventStore(database);
  await migrateChat(database);
  const clock = new HybridLogicalClock(name, now ? { now } : {});
  const store = new ChatStore(database, clock, name);
  const cache = await openCache({ logger: silentLogger, metrics: createRegistry(), name: `chat-${name}` });
  const feeds = new RoomFeeds(store, cache, {
    historyLimit: 100,
    maxCatchUp: 10_000,
    logger: silentLogger,
    onInvalid: () => undefined,
    onDelivered: () => undefined,
  });
  const service = new ChatService(store, feeds);
  const relay = await startOutboxRelay({ database, eventLog: log, pollIntervalMs: 50 });
  const site: Site = {
    name,
    database,
    service,
    relay,
    close: async () => {
      await site.replication?.close();
      await relay.close();
      await cache.close();
      await database.close();
    },
  };
  return site;
}

async function connect(site: Site, log: EventLog): Promise<void> {
  site.replication = await log.subscribe({
    group: `chat-replica-${site.name}`,
    topics: [topics.chat],
    handler: async (event) => {
      if (event.type === chatEventV1.type) await site.service.replica(chatEventV1.schema.parse(event.data));
    },
  });
}

async function partition(site: Site): Promise<void> {
  await site.replication?.close();
  site.replication = undefined;
}

async function history(site: Site) {
  return site.service.store.after(room, 0, 10_000);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('chat across two sites (active-active)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('concurrent writes, a partition with writes on both sides, a heal: identical history in HLC order at both sites', async () => {
    const backbone = await openDatabase();
    const log = await createEventLog({
      database: backbone,
      registry: platformEvents(),
      metrics: createRegistry(),
      databaseLog: { pollIntervalMs: 25, retentionIntervalMs: 0 },
    });
    closers.push(async () => {
      await log.close();
      await backbone.close();
    });
    // Site b's wall clock runs 3 s behind a's: the HLC still orders b's replies after what b saw.
    const a = await openSite('site-a', log);
    const b = await openSite('site-b', log, () => Date.now() - 3_000);
    closers.push(a.close, b.close);
    await connect(a, log);
    await connect(b, log);

    const write = (
      s: Site,
      author: string,
      clientId: string,
      body: string,
      kind: 'message' | 'edit' = 'message',
      messageId?: string,
    ) =>
      s.service.write({
        roomId: room,
        clientId,
        kind,
        author,
        body,
        mentions: [],
        ...(messageId ? { messageId } : {}),
      });

    // Concurrent: both sites write at once, replication running.
    await Promise.all([
      (async () => {
        for (let i = 0; i < 40; i++) await write(a, 'ann', `a${i}`, `from a ${i}`);
      })(),
      (async () => {
        for (let i = 0; i < 40; i++) await write(b, 'bob', `b${i}`, `from b ${i}`);
      })(),
    ]);
    await waitFor(
      'both sites at 80',
      async () => (await history(a)).length === 80 && (await history(b)).length === 80,
    );

    // Partition: neither hears the other; both keep writing, editing and resending.
    await partition(a);
    await partition(b);
    for (let i = 0; i < 25; i++) {
      await write(a, 'ann', `pa${i}`, `a during partition ${i}`);
      await write(b, 'bob', `pb${i}`, `b during partition ${i}`);
    }
    const bFirst = (await history(b)).find((e) => e.eventId === 'bob/b0');
    await write(b, 'bob', 'edit-b0', 'b0 edited during partition', 'edit', bFirst?.eventId);
    // A resend at the same site is stored once.
    expect((await write(a, 'ann', 'pa0', 'a during partition 0')).duplicate).toBe(true);
    expect((await history(a)).length).toBe(105);
    expect((await history(b)).length).toBe(106);

    // Heal: replication resumes from its offsets; each site applies the other's partition writes.
    await connect(a, log);
    await connect(b, log);
    await waitFor(
      'both sites at 131',
      async () => (await history(a)).length === 131 && (await history(b)).length === 131,
    );
    // Replicas arriving twice (a consumer replaying after a failover) change nothing.
    const again = (await history(a)).filter((e) => e.origin === 'site-b').slice(0, 10);
    for (const e of again) {
      const { seq: _s, ...replica } = e;
      expect((await b.service.replica({ ...replica, origin: 'site-a' }))?.duplicate ?? true).toBe(true);
    }

    const ha = await history(a);
    const hb = await history(b);
    // Sequences are local and gapless at each site...
    expect(ha.map((e) => e.seq)).toEqual(Array.from({ length: 131 }, (_, i) => i + 1));
    expect(hb.map((e) => e.seq)).toEqual(Array.from({ length: 131 }, (_, i) => i + 1));
    // ...the local arrival orders differ, and the shown (HLC) order is the same.
    const viewA = roomView(ha);
    const viewB = roomView(hb);
    expect(viewA).toEqual(viewB);
    expect(viewA.length).toBe(130);
    expect(viewA.find((m) => m.messageId === 'bob/b0')).toMatchObject({
      body: 'b0 edited during partition',
      edited: true,
    });
    const sameArrival = ha.every((e, i) => e.eventId === hb[i]?.eventId);
    process.stdout.write(
      `two sites: ${ha.length} events each (${ha.filter((e) => e.origin === 'site-a').length} from a, ${ha.filter((e) => e.origin === 'site-b').length} from b); local arrival order ${sameArrival ? 'the same' : 'differs'}, HLC order identical\n`,
    );
    // Each event carries the same stamp at both sites.
    const stamps = new Map(ha.map((e) => [e.eventId, e.hlc]));
    for (const e of hb) expect(stamps.get(e.eventId)).toBe(e.hlc);
  }, 120_000);
});
