import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { type BvEvent, platformEvents, type StockChanged, topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { counter, createRegistry, histogram } from '@bitv/shared/metrics';
import { postgresUrl, serverAvailable, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BinLightSetting, ShelfLightsInput } from '../src/commands/api.js';
import type { StockDirectory } from '../src/fulfilment/directory.js';
import { Fulfilment, type FulfilmentOptions } from '../src/fulfilment/fulfilment.js';
import { PickLights } from '../src/fulfilment/lights.js';
import { migrateFulfilment } from '../src/fulfilment/migrations.js';
import { binKey, type Location } from '../src/fulfilment/model.js';
import { PickStore } from '../src/fulfilment/store.js';
import { LiveHub } from '../src/live/hub.js';

/**
 * Fulfilment on a real database (PGlite and PostgreSQL): the store's version check and its
 * one-pick-per-site index are the database's. The shelves around it are a small in-memory site:
 * bins with counts (the directory) and a recorder of light commands (the commands module).
 */
class Site implements StockDirectory {
  readonly bins = new Map<string, { sku: string; count: number; aisle: number; shelf: number }>();
  readonly lights: { shelfId: string; bin: number; light: BinLightSetting }[] = [];
  /** One entry per light command sent: the shelf it went to and how many bins it set. */
  readonly commands: { shelfId: string; bins: number }[] = [];

  put(shelfId: string, bin: number, sku: string, count: number, aisle = 0, shelf = 0): void {
    this.bins.set(binKey(shelfId, bin), { sku, count, aisle, shelf });
  }

  async locate(_siteId: string, skus: readonly string[]): Promise<Map<string, Location[]>> {
    const found = new Map<string, Location[]>();
    for (const [key, b] of this.bins) {
      if (!skus.includes(b.sku)) continue;
      const [shelfId, bin] = key.split('/') as [string, string];
      const l = { shelfId, bin: Number(bin), count: b.count, aislePosition: b.aisle, shelfPosition: b.shelf };
      found.set(b.sku, [...(found.get(b.sku) ?? []), l]);
    }
    return found;
  }

  async counts(): Promise<Map<string, number>> {
    return new Map([...this.bins].map(([k, b]) => [k, b.count]));
  }

  /** A weight change as inventory announces it; the count is applied here first. */
  take(shelfId: string, bin: number, units: number, seq: number): StockChanged {
    const b = this.bins.get(binKey(shelfId, bin)) as { sku: string; count: number };
    const previousCount = b.count;
    b.count -= units;
    return {
      siteId: 'site-1',
      shelfId,
      bin,
      sku: b.sku,
      previousCount,
      count: b.count,
      confidence: 1,
      reason: 'weight',
      reading: { edgeNodeId: 'gw-1', deviceId: shelfId, seq },
    };
  }

  /** The lights the commands asked for last, per bin. */
  lit(): Map<string, string> {
    const now = new Map<string, string>();
    for (const l of this.lights) now.set(binKey(l.shelfId, l.bin), l.light === 'off' ? 'off' : l.light.color);
    return new Map([...now].filter(([, c]) => c !== 'off'));
  }
}

const kinds: { name: string; open: () => Promise<{ database: Database; dispose: () => Promise<void> }> }[] = [
  {
    name: 'pglite',
    open: async () => {
      const database = await openDatabase();
      return { database, dispose: () => database.close() };
    },
  },
];
if (await serverAvailable('postgres')) {
  kinds.push({
    name: 'postgres',
    open: async () => {
      const schema = uniqueName('fulfilment');
      const database = await openDatabase({ url: postgresUrl(), schema, poolSize: 4 });
      return {
        database,
        dispose: async () => {
          await dropSchema(database, schema);
          await database.close();
        },
      };
    },
  });
}

describe.each(kinds)('fulfilment on $name', ({ open }) => {
  let db: { database: Database; dispose: () => Promise<void> };
  let site: Site;
  let hubMessages: { type: string; change?: string }[];

  const build = (options: Partial<FulfilmentOptions> = {}) => {
    const metrics = createRegistry();
    const hub = new LiveHub();
    hub.subscribe({ sites: null, send: (m) => hubMessages.push(m as { type: string; change?: string }) });
    const commands = {
      setBinLights: async (input: ShelfLightsInput) => {
        site.commands.push({ shelfId: input.shelfId, bins: input.lights.length });
        for (const l of input.lights) site.lights.push({ shelfId: input.shelfId, ...l });
        return [{} as never];
      },
    };
    return new Fulfilment(
      new PickStore(db.database),
      site,
      new PickLights(commands, silentLogger),
      hub,
      silentLogger,
      {
        events: counter(metrics, 'e', 'e', ['type']),
        dropped: counter(metrics, 'd', 'd', ['reason']),
        reactSeconds: histogram(metrics, 'r', 'r'),
      },
      options,
    );
  };
  // What fulfilment committed for `bv.fulfilment`: the outbox rows written with the pick lists
  // (the relay that publishes them is tested in fulfilment-outbox.test.ts).
  const published = async () =>
    (
      await sql<{ event: BvEvent }>`SELECT event FROM bv_es_outbox WHERE topic = ${topics.fulfilment}
        ORDER BY id`.execute(db.database.kysely)
    ).rows.map((r) => r.event);
  const types = async () => (await published()).map((e) => e.type);

  beforeEach(async () => {
    db = await open();
    await migrateFulfilment(db.database);
    site = new Site();
    site.put('shelf-a', 0, 'NUT', 20, 0, 0);
    site.put('shelf-a', 1, 'WASHER', 5, 0, 0);
    site.put('shelf-b', 2, 'BOLT', 10, 1, 0);
    hubMessages = [];
  }, 60_000);
  afterEach(() => db.dispose(), 60_000);

  it('a confirmed order is picked by weight: lights on in walking order, off line by line, then picked', async () => {
    const f = build();
    const pick = await f.fromOrder({
      orderId: 'o-1',
      siteId: 'site-1',
      lines: [
        { sku: 'BOLT', quantity: 2 },
        { sku: 'NUT', quantity: 3 },
      ],
    });
    expect(pick.status).toBe('picking');
    expect(pick.lines.map((l) => l.sku)).toEqual(['NUT', 'BOLT']);
    expect(site.lit()).toEqual(
      new Map([
        ['shelf-a/0', '#00ff00'],
        ['shelf-b/2', '#00ff00'],
      ]),
    );
    await f.onStockChange(site.take('shelf-a', 0, 3, 1));
    expect(site.lit()).toEqual(new Map([['shelf-b/2', '#00ff00']]));
    await f.onStockChange(site.take('shelf-b', 2, 1, 2));
    expect((await f.get(pick.pickId)).lines[1]?.taken).toBe(1);
    await f.onStockChange(site.take('shelf-b', 2, 1, 3));
    expect(site.lit().size).toBe(0);
    expect((await f.get(pick.pickId)).status).toBe('picked');
    expect(await types()).toEqual([
      'bv.pick.list-created.v1',
      'bv.pick.started.v1',
      'bv.pick.line-confirmed.v1',
      'bv.pick.line-confirmed.v1',
      'bv.pick.completed.v1',
    ]);
    const completed = (await published()).at(-1) as BvEvent;
    expect(completed.data).toMatchObject({ orderId: 'o-1', siteId: 'site-1' });
    expect(hubMessages.filter((m) => m.type === 'pick').map((m) => m.change)).toContain('progressed');
  }, 60_000);

  it('one light command per shelf: starting lights each shelf at once, light-offs decided together go together', async () => {
    site.put('shelf-a', 3, 'NAIL', 10, 0, 0);
    const f = build();
    await f.fromOrder({
      orderId: 'o-1',
      siteId: 'site-1',
      lines: [
        { sku: 'NUT', quantity: 1 },
        { sku: 'WASHER', quantity: 1 },
        { sku: 'NAIL', quantity: 1 },
        { sku: 'BOLT', quantity: 1 },
      ],
    });
    // Three bins on shelf-a, one on shelf-b: two commands, not four.
    expect(site.commands.sort((a, b) => a.shelfId.localeCompare(b.shelfId))).toEqual([
      { shelfId: 'shelf-a', bins: 3 },
      { shelfId: 'shelf-b', bins: 1 },
    ]);
    site.commands.length = 0;
    await Promise.all([
      f.onStockChange(site.take('shelf-a', 0, 1, 1)),
      f.onStockChange(site.take('shelf-a', 1, 1, 2)),
      f.onStockChange(site.take('shelf-a', 3, 1, 3)),
    ]);
    expect(site.lit()).toEqual(new Map([['shelf-b/2', '#00ff00']]));
    // Arriving together, they are decided in one batch: their light-offs are one command.
    expect(site.commands).toEqual([{ shelfId: 'shelf-a', bins: 3 }]);
  }, 60_000);

  it('the same change from the in-process feed and from the log confirms once; a redelivered order makes no second list', async () => {
    const f = build();
    await f.fromOrder({ orderId: 'o-1', siteId: 'site-1', lines: [{ sku: 'NUT', quantity: 2 }] });
    await f.fromOrder({ orderId: 'o-1', siteId: 'site-1', lines: [{ sku: 'NUT', quantity: 2 }] });
    const change = site.take('shelf-a', 0, 2, 7);
    await Promise.all([f.onStockChange(change), f.onStockChange({ ...change })]);
    // A second instance (no shared memory) sees the copy from the log: the absolute count decides nothing.
    await build().onStockChange({ ...change });
    expect((await types()).filter((t) => t === 'bv.pick.line-confirmed.v1')).toHaveLength(1);
    expect((await types()).filter((t) => t === 'bv.pick.list-created.v1')).toHaveLength(1);
  }, 60_000);

  it('changes arriving together are decided together: both lines confirmed, the list picked once', async () => {
    const f = build();
    const pick = await f.fromOrder({
      orderId: 'o-1',
      siteId: 'site-1',
      lines: [
        { sku: 'NUT', quantity: 1 },
        { sku: 'BOLT', quantity: 2 },
      ],
    });
    await Promise.all([
      f.onStockChange(site.take('shelf-a', 0, 1, 1)),
      f.onStockChange(site.take('shelf-b', 2, 2, 2)),
      f.onStockChange(site.take('shelf-a', 1, 1, 3)),
    ]);
    const done = await f.get(pick.pickId);
    expect(done.status).toBe('picked');
    expect((await types()).filter((t) => t === 'bv.pick.completed.v1')).toHaveLength(1);
    // The washer taken after the list was picked is no mis-pick of it.
    expect(await types()).not.toContain('bv.pick.mis-pick.v1');
    expect(site.lit().size).toBe(0);
  }, 60_000);

  it('a drop at another bin is a mis-pick lit red; putting it back turns it off', async () => {
    const f = build();
    await f.fromOrder({ orderId: 'o-1', siteId: 'site-1', lines: [{ sku: 'NUT', quantity: 2 }] });
    await f.onStockChange(site.take('shelf-a', 1, 1, 1));
    expect(site.lit().get('shelf-a/1')).toBe('#ff0000');
    const misPick = (await published()).find((e) => e.type === 'bv.pick.mis-pick.v1');
    expect(misPick?.data).toMatchObject({ shelfId: 'shelf-a', bin: 1, taken: 1, sku: 'WASHER' });
    expect((await f.current('site-1'))?.misPicks).toHaveLength(1);
    await f.onStockChange(site.take('shelf-a', 1, -1, 2));
    expect(site.lit().has('shelf-a/1')).toBe(false);
    expect(site.lit().get('shelf-a/0')).toBe('#00ff00');
    expect((await f.current('site-1'))?.misPicks).toHaveLength(0);
  }, 60_000);

  it('too little stock is a short-pick exception; the site moves on to the next list', async () => {
    const f = build();
    const short = await f.fromOrder({
      orderId: 'o-1',
      siteId: 'site-1',
      lines: [{ sku: 'WASHER', quantity: 9 }],
    });
    expect(short.status).toBe('short');
    expect((await published()).find((e) => e.type === 'bv.pick.short-pick.v1')?.data).toMatchObject({
      sku: 'WASHER',
      quantity: 9,
      available: 5,
    });
    const next = await f.fromOrder({
      orderId: 'o-2',
      siteId: 'site-1',
      lines: [{ sku: 'NUT', quantity: 1 }],
    });
    expect(next.status).toBe('picking');
  }, 60_000);

  it('one pick at a time per site: the next list waits, and starts when the current one is picked', async () => {
    const f = build();
    const first = await f.fromOrder({
      orderId: 'o-1',
      siteId: 'site-1',
      lines: [{ sku: 'NUT', quantity: 1 }],
    });
    const second = await f.fromOrder({
      orderId: 'o-2',
      siteId: 'site-1',
      lines: [{ sku: 'BOLT', quantity: 1 }],
    });
    expect(second.status).toBe('open');
    // A drop at the second list's bin while the first is picked is the first list's mis-pick.
    await expect(f.start(second.pickId)).rejects.toThrow(/in progress/);
    await f.onStockChange(site.take('shelf-a', 0, 1, 1));
    expect((await f.get(first.pickId)).status).toBe('picked');
    await expect.poll(async () => (await f.get(second.pickId)).status, { timeout: 30_000 }).toBe('picking');
    expect(site.lit()).toEqual(new Map([['shelf-b/2', '#00ff00']]));
  }, 60_000);

  it('two instances racing to start lists of one site: exactly one is in progress', async () => {
    const a = build({ autoStart: false });
    const b = build({ autoStart: false });
    const p1 = await a.fromOrder({ orderId: 'o-1', siteId: 'site-1', lines: [{ sku: 'NUT', quantity: 1 }] });
    const p2 = await a.fromOrder({ orderId: 'o-2', siteId: 'site-1', lines: [{ sku: 'BOLT', quantity: 1 }] });
    const results = await Promise.allSettled([a.start(p1.pickId), b.start(p2.pickId)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await a.list({ siteId: 'site-1', status: 'picking' })).length).toBe(1);
  }, 60_000);

  it('the published events are valid on the bv.fulfilment topic', async () => {
    const f = build();
    await f.fromOrder({ orderId: 'o-1', siteId: 'site-1', lines: [{ sku: 'GHOST', quantity: 1 }] });
    expect(await types()).toContain('bv.pick.short-pick.v1');
    for (const e of await published()) platformEvents().validate(e, topics.fulfilment);
  }, 60_000);
});
