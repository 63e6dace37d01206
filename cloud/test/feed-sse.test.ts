import { setTimeout as delay } from 'node:timers/promises';
import { serverAvailable } from '@bitv/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSse as openRaw, type SseClient } from './feed-sse-client.js';
import { authed, type DatabaseKind, json, startTestCloud, type TestCloud } from './harness.js';

const kinds: DatabaseKind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');
else if (process.env.CI) throw new Error('PostgreSQL is not running (CI): start it on 127.0.0.1:5432');

const heartbeatMs = 400;

for (const kind of kinds) {
  describe(`feed SSE on ${kind}`, () => {
    let t: TestCloud;
    const url = (path: string) => `${t.cloud.url}${path}`;
    const tokens: Record<string, string> = {};
    // Every stream a test opens is cut after it, pass or fail, so the next test starts with none.
    const open: SseClient[] = [];
    const openSse = (...args: Parameters<typeof openRaw>) => {
      const client = openRaw(...args);
      open.push(client);
      return client;
    };
    afterEach(() => {
      for (const client of open.splice(0)) client.cut();
    });
    const ids: Record<string, string> = {};

    async function user(name: string): Promise<void> {
      const token = await t.token('partner');
      tokens[name] = token;
      const me = await json(await fetch(url('/api/v1/feed/follows'), authed(token, undefined, 'GET')));
      expect(me.follows).toEqual([]);
      // The token's subject is the user id (the feed's author id).
      ids[name] = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sub;
    }
    const post = async (who: string, body: string) => {
      const res = await fetch(url('/api/v1/feed/posts'), authed(tokens[who] as string, { body }));
      expect(res.status).toBe(201);
      return (await json(res)).id as string;
    };
    const follow = async (who: string, target: string) => {
      const res = await fetch(
        url(`/api/v1/feed/follows/user/${ids[target]}`),
        authed(tokens[who] as string, undefined, 'PUT'),
      );
      expect(res.status).toBe(200);
    };
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(url('/metrics'))).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    };

    beforeAll(async () => {
      // A threshold of 2: the celebrity (3 followers) is merged on read, the friend fanned out.
      t = await startTestCloud(kind, { modules: ['feed'], feed: { heartbeatMs, fanoutThreshold: 2 } });
      for (const name of ['reader', 'friend', 'celebrity', 'fan1', 'fan2']) await user(name);
      await follow('reader', 'friend');
      await follow('reader', 'celebrity');
      await follow('fan1', 'celebrity');
      await follow('fan2', 'celebrity');
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    it('a client cut off and reconnected with Last-Event-ID misses nothing and gets nothing twice', async () => {
      const written: string[] = [];
      const first = openSse(url('/api/v1/feed/stream'), { authorization: `Bearer ${tokens.reader}` });
      expect(await first.status).toBe(200);
      // Posts from both kinds of author, some while connected, some while cut off, some during the reconnect.
      const writer = (async () => {
        for (let i = 0; i < 40; i += 1) {
          written.push(await post(i % 4 === 0 ? 'celebrity' : 'friend', `post ${i}`));
          if (i % 5 === 0) await delay(20);
        }
      })();
      await first.waitFor(8);
      first.cut();
      const seenFirst = first.events.length;
      const lastId = first.events.at(-1)?.id as string;
      await delay(200);
      const second = openSse(url('/api/v1/feed/stream'), {
        authorization: `Bearer ${tokens.reader}`,
        'last-event-id': lastId,
      });
      expect(await second.status).toBe(200);
      await writer;
      await second.waitFor(40 - seenFirst);
      await delay(300);
      const all = [...first.events, ...second.events];
      const seqs = all.map((e) => Number(e.id));
      const posts = all.map((e) => (JSON.parse(e.data) as { post: { id: string } }).post.id);
      console.log(
        `[${kind}] written ${written.length}; before the cut ${seenFirst} (last id ${lastId}); after reconnect ${second.events.length}; distinct ${new Set(posts).size}`,
      );
      expect(all.every((e) => e.event === 'post')).toBe(true);
      // Ids only grow across the two connections: the second started exactly after the first's last.
      for (let i = 1; i < seqs.length; i += 1) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
      expect(posts.length).toBe(new Set(posts).size);
      expect(new Set(posts)).toEqual(new Set(written));
      // The REST home feed agrees with what the stream delivered.
      const home = await json(
        await fetch(url('/api/v1/feed/home?limit=100'), authed(tokens.reader as string, undefined, 'GET')),
      );
      expect((home.items as { post: { id: string } }[]).map((i) => i.post.id).sort()).toEqual(
        [...written].sort(),
      );
    }, 120_000);

    it('a vanished client is removed within one heartbeat, and counted', async () => {
      // The previous test's streams are gone first, so the count below is this client's alone.
      for (let i = 0; (await metric('bv_feed_sse_clients')) > 0; i += 1) {
        if (i > 200) throw new Error('earlier streams never went');
        await delay(20);
      }
      const before = await metric('bv_feed_sse_dropped_total');
      const client = openSse(url('/api/v1/feed/stream'), { authorization: `Bearer ${tokens.fan1}` });
      expect(await client.status).toBe(200);
      for (let i = 0; (await metric('bv_feed_sse_clients')) < 1; i += 1) {
        if (i > 200) throw new Error('the stream never registered');
        await delay(20);
      }
      const cutAt = Date.now();
      client.cut();
      let gone = 0;
      while ((await metric('bv_feed_sse_clients')) > 0) {
        if (Date.now() - cutAt > 10 * heartbeatMs) break;
        await delay(10);
      }
      gone = Date.now() - cutAt;
      console.log(
        `[${kind}] vanished client removed ${gone} ms after its socket was cut (heartbeat ${heartbeatMs} ms)`,
      );
      expect(await metric('bv_feed_sse_clients')).toBe(0);
      expect(gone).toBeLessThanOrEqual(heartbeatMs);
      expect(await metric('bv_feed_sse_dropped_total')).toBe(before + 1);
    }, 60_000);

    it('refuses a stream without a token and a bad Last-Event-ID', async () => {
      expect((await fetch(url('/api/v1/feed/stream'))).status).toBe(401);
      const bad = await fetch(url('/api/v1/feed/stream'), {
        headers: { authorization: `Bearer ${tokens.reader}`, 'last-event-id': 'yesterday' },
      });
      expect(bad.status).toBe(400);
    });
  });
}
