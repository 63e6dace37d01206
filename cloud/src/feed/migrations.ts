import { type Database, type Migration, migrate } from '@bitv/shared/db';
import { type Kysely, sql } from 'kysely';

const tables: Migration = {
  async up(db: Kysely<unknown>) {
    // `fanned_out` records the decision made when the post was written: false means its audience
    // was above the fan-out threshold and readers merge it in when they read (see store.ts).
    await sql`CREATE TABLE feed_posts (
      id bigserial PRIMARY KEY,
      author_id text NOT NULL,
      body text NOT NULL,
      images jsonb NOT NULL,
      mentions jsonb NOT NULL,
      fanned_out boolean NOT NULL,
      hidden boolean NOT NULL DEFAULT false,
      hidden_by text,
      like_count integer NOT NULL DEFAULT 0,
      comment_count integer NOT NULL DEFAULT 0,
      report_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX feed_posts_author ON feed_posts (author_id, id DESC)`.execute(db);
    await sql`CREATE INDEX feed_posts_merged ON feed_posts (author_id, id DESC) WHERE NOT fanned_out`.execute(
      db,
    );
    await sql`CREATE INDEX feed_posts_reported ON feed_posts (id DESC) WHERE report_count > 0`.execute(db);
    await sql`CREATE TABLE feed_post_skus (
      post_id bigint NOT NULL REFERENCES feed_posts (id),
      sku text NOT NULL,
      fanned_out boolean NOT NULL,
      PRIMARY KEY (sku, post_id)
    )`.execute(db);
    // kind 'user' or 'product'; target is a user id or a SKU.
    await sql`CREATE TABLE feed_follows (
      follower_id text NOT NULL,
      kind text NOT NULL,
      target text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (follower_id, kind, target)
    )`.execute(db);
    await sql`CREATE INDEX feed_follows_target ON feed_follows (kind, target)`.execute(db);
    await sql`CREATE TABLE feed_likes (
      post_id bigint NOT NULL REFERENCES feed_posts (id),
      user_id text NOT NULL,
      PRIMARY KEY (post_id, user_id)
    )`.execute(db);
    await sql`CREATE TABLE feed_comments (
      id bigserial PRIMARY KEY,
      post_id bigint NOT NULL REFERENCES feed_posts (id),
      author_id text NOT NULL,
      body text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
    await sql`CREATE INDEX feed_comments_post ON feed_comments (post_id, id)`.execute(db);
    await sql`CREATE TABLE feed_reports (
      post_id bigint NOT NULL REFERENCES feed_posts (id),
      reporter_id text NOT NULL,
      reason text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (post_id, reporter_id)
    )`.execute(db);
    // A reader's home feed: one row per post delivered to them, numbered by their own sequence
    // (the SSE event id), so `Last-Event-ID` names a position in exactly this list.
    await sql`CREATE TABLE feed_items (
      user_id text NOT NULL,
      seq bigint NOT NULL,
      post_id bigint NOT NULL REFERENCES feed_posts (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, seq),
      UNIQUE (user_id, post_id)
    )`.execute(db);
    // The last sequence handed out per reader; its row lock orders concurrent deliveries.
    await sql`CREATE TABLE feed_seq (
      user_id text PRIMARY KEY,
      last bigint NOT NULL
    )`.execute(db);
  },
};

/**
 * Readers who follow someone (or a product) with posts merged on read. Only they need the merge
 * check when they read or connect; everyone else's feed is complete by fan-out on write. A row
 * too many costs one merge check; a row missing would hide posts, so rows are added in the same
 * transaction as the post or follow that makes them true and removed only on unfollow.
 */
const mergeReaders: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE feed_merge_readers (user_id text PRIMARY KEY)`.execute(db);
    await sql`INSERT INTO feed_merge_readers (user_id)
      SELECT f.follower_id FROM feed_follows f
      WHERE (f.kind = 'user' AND EXISTS (SELECT 1 FROM feed_posts p WHERE p.author_id = f.target AND NOT p.fanned_out))
         OR (f.kind = 'product' AND EXISTS (SELECT 1 FROM feed_post_skus s WHERE s.sku = f.target AND NOT s.fanned_out))
      ON CONFLICT DO NOTHING`.execute(db);
  },
};

export const feedMigrations: Record<string, Migration> = {
  '0001_tables': tables,
  '0002_merge_readers': mergeReaders,
};

export function migrateFeed(database: Database): Promise<string[]> {
  return migrate(database, 'feed', feedMigrations);
}
