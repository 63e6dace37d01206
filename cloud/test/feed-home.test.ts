import { serverAvailable } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, type DatabaseKind, json, startTestCloud, type TestCloud } from './harness.js';

const kinds: DatabaseKind[] = ['pglite'];
if (await serverAvailable('postgres')) kinds.push('postgres');
else if (process.env.CI) throw new Error('PostgreSQL is not running (CI): start it on 127.0.0.1:5432');

interface Item {
  seq: number;
  post: { id: string; likes: number; hidden: boolean };
}

for (const kind of kinds) {
  describe(`feed home reads on ${kind}`, () => {
    let t: TestCloud;
    const url = (path: string) => `${t.cloud.url}${path}`;
    const tokens: Record<string, string> = {};
    const ids: Record<string, string> = {};
    let moderator = '';

    async function user(name: string): Promise<void> {
      const token = await t.token('partner');
      tokens[name] = token;
      ids[name] = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sub;
    }
    const as = (who: string, method = 'GET', body?: unknown) => authed(tokens[who] as string, body, method);
    const post = async (who: string, body: string) => {
      const res = await fetch(url('/api/v1/feed/posts'), as(who, 'POST', { body }));
      expect(res.status).toBe(201);
      return (await json(res)) as { id: string; fannedOut: boolean };
    };
    const follow = async (who: string, target: string, on = true) => {
      const res = await fetch(
        url(`/api/v1/feed/follows/user/${ids[target]}`),
        as(who, on ? 'PUT' : 'DELETE'),
      );
      expect(res.status).toBe(200);
    };
    const home = async (who: string, query = '') =>
      (await json(await fetch(url(`/api/v1/feed/home${query}`), as(who)))) as {
        items: Item[];
        next: number | null;
      };
    const homePostIds = async (who: string) => (await home(who, '?limit=100')).items.map((i) => i.post.id);
    /** Who carries the merge flag: the fact the cheap read path rests on. */
    const flagged = async () =>
      (
        await sql<{ user_id: string }>`SELECT user_id FROM feed_merge_readers ORDER BY user_id`.execute(
          t.database.kysely,
        )
      ).rows.map((r) => r.user_id);
    const name = (id: string) => Object.keys(ids).find((k) => ids[k] === id);

    beforeAll(async () => {
      // A threshold of 2: 'celebrity' gets 3 followers (merged on read), 'friend' stays fanned out.
      t = await startTestCloud(kind, { modules: ['feed'], feed: { fanoutThreshold: 2 } });
      for (const n of ['reader', 'friend', 'celebrity', 'fan1', 'fan2', 'late']) await user(n);
      moderator = await t.token('staff');
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    it('fans out below the threshold without flagging anyone; merges above it for the flagged readers', async () => {
      await follow('reader', 'friend');
      const fanned = await post('friend', 'hello from a friend');
      expect(fanned.fannedOut).toBe(true);
      expect(await flagged()).toEqual([]);
      expect(await homePostIds('reader')).toEqual([fanned.id]);

      for (const fan of ['reader', 'fan1', 'fan2']) await follow(fan, 'celebrity');
      const merged = await post('celebrity', 'hello, everyone');
      expect(merged.fannedOut).toBe(false);
      // The post's whole audience, and no one else, now needs the merge check.
      expect((await flagged()).map(name).sort()).toEqual(['fan1', 'fan2', 'reader']);
      expect(await homePostIds('reader')).toEqual([merged.id, fanned.id]);
      // Read again: merged once, not twice.
      expect(await homePostIds('reader')).toEqual([merged.id, fanned.id]);
    });

    it('a follow after the merged post flags the new follower, who then gets it', async () => {
      await follow('late', 'celebrity');
      expect((await flagged()).map(name)).toContain('late');
      expect((await homePostIds('late')).length).toBe(1);
    });

    it('an unfollow clears the flag only when no followed target has merged posts left', async () => {
      await follow('late', 'friend');
      await follow('late', 'celebrity', false);
      expect((await flagged()).map(name)).not.toContain('late');
      // Following the friend (fanned out) does not flag; following the celebrity again does.
      await follow('late', 'celebrity');
      expect((await flagged()).map(name)).toContain('late');
      // 'reader' still follows the celebrity after unfollowing the friend: stays flagged.
      await follow('reader', 'friend', false);
      expect((await flagged()).map(name)).toContain('reader');
      await follow('reader', 'friend');
    });

    it('pages by cursor without gaps or repeats; hidden posts drop out; likes count', async () => {
      const written: string[] = [];
      for (let i = 0; i < 7; i += 1)
        written.push((await post(i % 2 ? 'celebrity' : 'friend', `page ${i}`)).id);
      const hidden = written[3] as string;
      const res = await fetch(url(`/api/v1/feed/posts/${hidden}/hide`), authed(moderator, { hidden: true }));
      expect(res.status).toBeLessThan(300);
      const liked = written[6] as string;
      expect((await fetch(url(`/api/v1/feed/posts/${liked}/like`), as('fan1', 'PUT'))).status).toBe(200);

      const seen: Item[] = [];
      let query = '?limit=3';
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await home('reader', query);
        seen.push(...page.items);
        if (page.next === null) break;
        query = `?limit=3&before=${page.next}`;
      }
      const seqs = seen.map((i) => i.seq);
      for (let i = 1; i < seqs.length; i += 1) expect(seqs[i]).toBeLessThan(seqs[i - 1] as number);
      const postIds = seen.map((i) => i.post.id);
      expect(new Set(postIds).size).toBe(postIds.length);
      expect(postIds).not.toContain(hidden);
      expect(seen.every((i) => !i.post.hidden)).toBe(true);
      // The 6 visible new posts (merged ones take the reader's next sequence when read, so the
      // order among them is by arrival, not by writing), then the two from the first test.
      expect(new Set(postIds.slice(0, 6))).toEqual(new Set(written.filter((id) => id !== hidden)));
      expect(postIds).toHaveLength(8);
      expect(seen.find((i) => i.post.id === liked)?.post.likes).toBe(1);
    });
  });
}
