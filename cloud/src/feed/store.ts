import type { Database } from '@bitv/shared/db';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { CommentView, FeedItem, Mention, PostView } from './post.js';

interface PostRow {
  id: string;
  author_id: string;
  body: string;
  images: string[];
  mentions: Mention[];
  like_count: number;
  comment_count: number;
  report_count: number;
  hidden: boolean;
  fanned_out: boolean;
  created_at: Date | string;
}

const postColumns = sql.raw(
  `p.id::text AS id, p.author_id, p.body, p.images, p.mentions, p.like_count, p.comment_count,
   p.report_count, p.hidden, p.fanned_out, p.created_at`,
);

export function postView(r: PostRow): PostView {
  return {
    id: r.id,
    authorId: r.author_id,
    body: r.body,
    images: r.images,
    mentions: r.mentions,
    likes: Number(r.like_count),
    comments: Number(r.comment_count),
    reports: Number(r.report_count),
    hidden: r.hidden,
    fannedOut: r.fanned_out,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** One delivery of a post into a reader's feed. */
export interface Delivery {
  userId: string;
  seq: number;
}

/** Who would get a post: the author's followers and the followers of the products it names. */
function audienceOf(authorId: string, skus: readonly string[]): RawBuilder<unknown> {
  return sql`SELECT follower_id AS user_id FROM feed_follows
    WHERE (kind = 'user' AND target = ${authorId})
       OR (kind = 'product' AND target = ANY(${sql.val([...skus])}::text[]))`;
}

/**
 * Marks a merged post's whole audience as readers who need the merge check (`feed_merge_readers`).
 * Every such post marks them again, so a follow that raced an earlier one is caught by the next.
 * The rows already there are share-locked first: an unfollow that wants to clear one of them then
 * waits for this post and sees it (see `follow`).
 */
async function flagMergeReaders(
  trx: Kysely<unknown>,
  authorId: string,
  skus: readonly string[],
): Promise<void> {
  await sql`SELECT count(*) FROM (SELECT 1 FROM feed_merge_readers m
      WHERE m.user_id IN (${audienceOf(authorId, skus)}) FOR KEY SHARE OF m) locked`.execute(trx);
  await sql`INSERT INTO feed_merge_readers (user_id)
      SELECT DISTINCT user_id FROM (${audienceOf(authorId, skus)}) a
      ON CONFLICT DO NOTHING`.execute(trx);
}

/** The reader follows an author or product with a post merged on read (within any window). */
function followsMerged(userId: string): RawBuilder<unknown> {
  return sql`EXISTS (SELECT 1 FROM feed_follows f WHERE f.follower_id = ${userId} AND (
      (f.kind = 'user' AND EXISTS (SELECT 1 FROM feed_posts p WHERE p.author_id = f.target AND NOT p.fanned_out))
      OR (f.kind = 'product' AND EXISTS (SELECT 1 FROM feed_post_skus s WHERE s.sku = f.target AND NOT s.fanned_out))))`;
}

/** The reader is in `feed_merge_readers`: only then can a merge find anything. */
function mergesOnRead(userId: string): RawBuilder<unknown> {
  return sql`EXISTS (SELECT 1 FROM feed_merge_readers WHERE user_id = ${userId})`;
}

/**
 * The home page's rows, newest first. The post is joined per item (OFFSET 0 keeps the planner
 * from flattening it into a hash join over every post when it has no statistics, as on PGlite,
 * which never runs autovacuum): a backward scan of the reader's `(user_id, seq)` key that stops
 * after `limit` visible posts.
 */
function pageRows(userId: string, beforeSeq: number | undefined, limit: number): RawBuilder<unknown> {
  return sql`SELECT i.seq, ${postColumns}
    FROM feed_items i CROSS JOIN LATERAL (SELECT * FROM feed_posts p WHERE p.id = i.post_id AND NOT p.hidden OFFSET 0) p
    WHERE i.user_id = ${userId} ${beforeSeq === undefined ? sql`` : sql`AND i.seq < ${beforeSeq}`}
    ORDER BY i.seq DESC LIMIT ${limit}`;
}

/**
 * The feed's tables. Every write that moves a reader's feed goes through `feed_seq`'s row for that
 * reader, whose lock orders concurrent deliveries, so each reader's sequence only grows and a
 * reader resuming after `seq` finds every later item.
 */
export class FeedStore {
  private readonly db: Kysely<unknown>;

  constructor(database: Database) {
    this.db = database.kysely;
  }

  async audienceSize(authorId: string, skus: readonly string[]): Promise<number> {
    const { rows } = await sql<{ n: string }>`SELECT count(DISTINCT user_id)::text AS n FROM (${audienceOf(
      authorId,
      skus,
    )}) a`.execute(this.db);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Writes a post and delivers it: to its whole audience when `fanOut`, else only to its author
   * (readers merge it in when they read). One transaction; each delivery is a sequence bump.
   */
  async createPost(input: {
    authorId: string;
    body: string;
    images: readonly string[];
    mentions: readonly Mention[];
    fanOut: boolean;
  }): Promise<{ post: PostView; deliveries: Delivery[] }> {
    return this.db.transaction().execute(async (trx) => {
      const { rows } =
        await sql<PostRow>`INSERT INTO feed_posts AS p (author_id, body, images, mentions, fanned_out)
        VALUES (${input.authorId}, ${input.body}, ${JSON.stringify(input.images)}::jsonb,
                ${JSON.stringify(input.mentions)}::jsonb, ${input.fanOut})
        RETURNING ${postColumns}`.execute(trx);
      const post = postView(rows[0] as PostRow);
      const skus = input.mentions.map((m) => m.sku);
      if (skus.length > 0) {
        await sql`INSERT INTO feed_post_skus (post_id, sku, fanned_out)
          SELECT ${post.id}::bigint, s, ${input.fanOut} FROM unnest(${sql.val(skus)}::text[]) s`.execute(trx);
      }
      if (!input.fanOut) await flagMergeReaders(trx, input.authorId, skus);
      const audience = input.fanOut
        ? sql`SELECT user_id FROM (${audienceOf(input.authorId, skus)}) a UNION SELECT ${input.authorId}`
        : sql`SELECT ${input.authorId}::text AS user_id`;
      // Sorted so that two posts delivered to overlapping audiences lock the rows in one order.
      const delivered = await sql<{ user_id: string; seq: string }>`
        WITH audience AS (${audience}),
        bumped AS (
          INSERT INTO feed_seq (user_id, last)
          SELECT user_id, 1 FROM audience ORDER BY user_id
          ON CONFLICT (user_id) DO UPDATE SET last = feed_seq.last + 1
          RETURNING user_id, last)
        INSERT INTO feed_items (user_id, seq, post_id)
        SELECT user_id, last, ${post.id}::bigint FROM bumped
        RETURNING user_id, seq::text AS seq`.execute(trx);
      return { post, deliveries: delivered.rows.map((r) => ({ userId: r.user_id, seq: Number(r.seq) })) };
    });
  }

  /**
   * Merge on read: posts that were not fanned out (their audience was above the threshold), by
   * authors or about products the reader follows, written within `windowDays` and not yet in the
   * reader's feed, become items with the reader's next sequence numbers.
   */
  async mergeFollowed(userId: string, windowDays: number, limit = 200): Promise<Delivery[]> {
    const candidates = (db: Kysely<unknown>) =>
      sql<{ id: string }>`
      SELECT p.id::text AS id FROM feed_posts p
      WHERE ${mergesOnRead(userId)} AND NOT p.fanned_out AND p.author_id <> ${userId}
        AND p.created_at > now() - make_interval(days => ${windowDays})
        AND (p.author_id IN (SELECT target FROM feed_follows WHERE follower_id = ${userId} AND kind = 'user')
          OR p.id IN (SELECT s.post_id FROM feed_post_skus s
                      JOIN feed_follows f ON f.kind = 'product' AND f.target = s.sku AND f.follower_id = ${userId}
                      WHERE NOT s.fanned_out))
        AND NOT EXISTS (SELECT 1 FROM feed_items i WHERE i.user_id = ${userId} AND i.post_id = p.id)
      ORDER BY p.id LIMIT ${limit}`.execute(db);
    // Most reads find nothing to merge (for readers following no one above the threshold the
    // flag alone answers): no transaction, no lock.
    if ((await candidates(this.db)).rows.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const locked = await sql<{ last: string }>`INSERT INTO feed_seq (user_id, last) VALUES (${userId}, 0)
        ON CONFLICT (user_id) DO UPDATE SET last = feed_seq.last RETURNING last::text AS last`.execute(trx);
      const last = Number(locked.rows[0]?.last ?? 0);
      // Again under the lock: a concurrent merge for the same reader may have taken some.
      const ids = (await candidates(trx)).rows.map((r) => r.id);
      if (ids.length === 0) return [];
      await sql`INSERT INTO feed_items (user_id, seq, post_id)
        SELECT ${userId}, ${last} + n, id FROM unnest(${sql.val(ids)}::bigint[]) WITH ORDINALITY AS t(id, n)`.execute(
        trx,
      );
      await sql`UPDATE feed_seq SET last = ${last + ids.length} WHERE user_id = ${userId}`.execute(trx);
      return ids.map((_, i) => ({ userId, seq: last + i + 1 }));
    });
  }

  /** The reader's items after `afterSeq`, oldest first (SSE catch-up); hidden posts are skipped. */
  async itemsAfter(userId: string, afterSeq: number, limit: number): Promise<FeedItem[]> {
    const { rows } = await sql<PostRow & { seq: string }>`SELECT i.seq::text AS seq, ${postColumns}
      FROM feed_items i JOIN feed_posts p ON p.id = i.post_id
      WHERE i.user_id = ${userId} AND i.seq > ${afterSeq} AND NOT p.hidden
      ORDER BY i.seq LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => ({ seq: Number(r.seq), post: postView(r) }));
  }

  /** The highest sequence the reader has (0 for none). */
  async lastSeq(userId: string): Promise<number> {
    return (await this.readerState(userId)).last;
  }

  /** The reader's last sequence and whether they need the merge check, in one query. */
  async readerState(userId: string): Promise<{ last: number; mergesOnRead: boolean }> {
    const { rows } = await sql<{ last: string; merges: boolean }>`SELECT
      COALESCE((SELECT last FROM feed_seq WHERE user_id = ${userId}), 0)::text AS last,
      ${mergesOnRead(userId)} AS merges`.execute(this.db);
    return { last: Number(rows[0]?.last ?? 0), mergesOnRead: rows[0]?.merges === true };
  }

  /**
   * A page of the home feed, newest first, before `beforeSeq` (the cursor), and whether the reader
   * needs the merge check: one query.
   */
  async homePage(
    userId: string,
    beforeSeq: number | undefined,
    limit: number,
  ): Promise<{ items: FeedItem[]; mergesOnRead: boolean }> {
    const { rows } = await sql<Partial<PostRow> & { seq: string | null; merges: boolean }>`
      SELECT m.merges, page.seq::text AS seq, page.id, page.author_id, page.body, page.images, page.mentions,
        page.like_count, page.comment_count, page.report_count, page.hidden, page.fanned_out, page.created_at
      FROM (SELECT ${mergesOnRead(userId)} AS merges) m
      LEFT JOIN LATERAL (${pageRows(userId, beforeSeq, limit)}) page ON true
      ORDER BY page.seq DESC`.execute(this.db);
    const items = rows
      .filter((r) => r.seq !== null)
      .map((r) => ({ seq: Number(r.seq), post: postView(r as PostRow) }));
    return { items, mergesOnRead: rows[0]?.merges === true };
  }

  /** One author's posts, newest first, before the post id `before`. */
  async userPosts(
    authorId: string,
    before: string | undefined,
    limit: number,
    withHidden: boolean,
  ): Promise<PostView[]> {
    const { rows } = await sql<PostRow>`SELECT ${postColumns} FROM feed_posts p
      WHERE p.author_id = ${authorId} ${withHidden ? sql`` : sql`AND NOT p.hidden`}
        ${before === undefined ? sql`` : sql`AND p.id < ${before}::bigint`}
      ORDER BY p.id DESC LIMIT ${limit}`.execute(this.db);
    return rows.map(postView);
  }

  /** Reported posts, most reported first (the moderators' queue). */
  async reported(limit: number): Promise<PostView[]> {
    const { rows } = await sql<PostRow>`SELECT ${postColumns} FROM feed_posts p
      WHERE p.report_count > 0 ORDER BY p.hidden, p.report_count DESC, p.id DESC LIMIT ${limit}`.execute(
      this.db,
    );
    return rows.map(postView);
  }

  async post(id: string): Promise<PostView | undefined> {
    const { rows } =
      await sql<PostRow>`SELECT ${postColumns} FROM feed_posts p WHERE p.id = ${id}::bigint`.execute(this.db);
    return rows[0] ? postView(rows[0]) : undefined;
  }

  /**
   * Returns whether it changed anything (following twice is not an error). Keeps the reader's
   * merge flag: set when they follow a target with a merged post, cleared when an unfollow leaves
   * them following none.
   */
  async follow(followerId: string, kind: 'user' | 'product', target: string, on: boolean): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (on) {
        const { numAffectedRows } = await sql`INSERT INTO feed_follows (follower_id, kind, target)
          VALUES (${followerId}, ${kind}, ${target}) ON CONFLICT DO NOTHING`.execute(trx);
        await sql`INSERT INTO feed_merge_readers (user_id) SELECT ${followerId} WHERE ${followsMerged(followerId)}
          ON CONFLICT DO NOTHING`.execute(trx);
        return Number(numAffectedRows ?? 0) > 0;
      }
      const { numAffectedRows } = await sql`DELETE FROM feed_follows
        WHERE follower_id = ${followerId} AND kind = ${kind} AND target = ${target}`.execute(trx);
      // Locked first, in its own statement: a merged post being written holds the row share-locked
      // (flagMergeReaders), so this waits for it, and the check below, a new statement, sees it.
      await sql`SELECT 1 FROM feed_merge_readers WHERE user_id = ${followerId} FOR UPDATE`.execute(trx);
      await sql`DELETE FROM feed_merge_readers WHERE user_id = ${followerId} AND NOT ${followsMerged(followerId)}`.execute(
        trx,
      );
      return Number(numAffectedRows ?? 0) > 0;
    });
  }

  async following(followerId: string): Promise<{ kind: 'user' | 'product'; target: string }[]> {
    const { rows } = await sql<{
      kind: 'user' | 'product';
      target: string;
    }>`SELECT kind, target FROM feed_follows
      WHERE follower_id = ${followerId} ORDER BY kind, target LIMIT 1000`.execute(this.db);
    return rows;
  }

  /** Of `userIds`, those who follow the author or one of the SKUs (live merge for online readers). */
  async followersAmong(
    userIds: readonly string[],
    authorId: string,
    skus: readonly string[],
  ): Promise<string[]> {
    if (userIds.length === 0) return [];
    const { rows } = await sql<{ follower_id: string }>`SELECT DISTINCT follower_id FROM feed_follows
      WHERE follower_id = ANY(${sql.val([...userIds])}::text[])
        AND ((kind = 'user' AND target = ${authorId}) OR (kind = 'product' AND target = ANY(${sql.val([...skus])}::text[])))`.execute(
      this.db,
    );
    return rows.map((r) => r.follower_id);
  }

  /** Likes once per user; the count moves only when the like row does. */
  async like(postId: string, userId: string, on: boolean): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { numAffectedRows } = on
        ? await sql`INSERT INTO feed_likes (post_id, user_id) VALUES (${postId}::bigint, ${userId}) ON CONFLICT DO NOTHING`.execute(
            trx,
          )
        : await sql`DELETE FROM feed_likes WHERE post_id = ${postId}::bigint AND user_id = ${userId}`.execute(
            trx,
          );
      const delta = Number(numAffectedRows ?? 0) * (on ? 1 : -1);
      const { rows } = await sql<{ n: number }>`UPDATE feed_posts SET like_count = like_count + ${delta}
        WHERE id = ${postId}::bigint RETURNING like_count AS n`.execute(trx);
      return Number(rows[0]?.n ?? 0);
    });
  }

  async comment(postId: string, authorId: string, body: string): Promise<CommentView> {
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        id: string;
        created_at: Date | string;
      }>`INSERT INTO feed_comments (post_id, author_id, body)
        VALUES (${postId}::bigint, ${authorId}, ${body}) RETURNING id::text AS id, created_at`.execute(trx);
      await sql`UPDATE feed_posts SET comment_count = comment_count + 1 WHERE id = ${postId}::bigint`.execute(
        trx,
      );
      const row = rows[0] as { id: string; created_at: Date | string };
      return { id: row.id, postId, authorId, body, createdAt: new Date(row.created_at).toISOString() };
    });
  }

  async comments(postId: string, limit: number): Promise<CommentView[]> {
    const { rows } = await sql<{ id: string; author_id: string; body: string; created_at: Date | string }>`
      SELECT id::text AS id, author_id, body, created_at FROM feed_comments
      WHERE post_id = ${postId}::bigint ORDER BY id LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => ({
      id: r.id,
      postId,
      authorId: r.author_id,
      body: r.body,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  /** One report per reporter and post; returns the post's report count. */
  async report(postId: string, reporterId: string, reason: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { numAffectedRows } = await sql`INSERT INTO feed_reports (post_id, reporter_id, reason)
        VALUES (${postId}::bigint, ${reporterId}, ${reason}) ON CONFLICT DO NOTHING`.execute(trx);
      const { rows } = await sql<{ n: number }>`UPDATE feed_posts SET report_count = report_count + ${Number(
        numAffectedRows ?? 0,
      )} WHERE id = ${postId}::bigint RETURNING report_count AS n`.execute(trx);
      return Number(rows[0]?.n ?? 0);
    });
  }

  async hide(postId: string, by: string, hidden: boolean): Promise<void> {
    await sql`UPDATE feed_posts SET hidden = ${hidden}, hidden_by = ${hidden ? by : null}
      WHERE id = ${postId}::bigint`.execute(this.db);
  }
}
