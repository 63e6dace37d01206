import { NotFoundError } from '@bitv/shared';
import { z } from 'zod';
import { type Mention, mentionedSkus, type NewPost, type PostView } from './post.js';
import type { FeedStore } from './store.js';

export interface FeedSettings {
  /** A post whose audience (followers of its author and of the products it names) is larger is merged on read. */
  fanoutThreshold: number;
  /** How far back merge on read looks for not-fanned-out posts. */
  mergeWindowDays: number;
}

export const feedDefaults: FeedSettings = { fanoutThreshold: 1_000, mergeWindowDays: 30 };

/** The feed's message between cloud instances (cache pub/sub), validated when it arrives. */
export const feedMessage = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('delivered'),
    post: z.custom<PostView>((v) => typeof v === 'object' && v !== null && 'id' in v),
    /** [userId, seq] pairs. */
    deliveries: z.array(z.tuple([z.string(), z.number().int().positive()])),
  }),
  z.object({ kind: z.literal('merge'), authorId: z.string(), skus: z.array(z.string()) }),
  z.object({ kind: z.literal('wake'), userIds: z.array(z.string()) }),
]);
export type FeedMessage = z.infer<typeof feedMessage>;

export const feedChannel = 'bv.feed';

export interface FeedDeps {
  /** The catalog's product for a `#SKU`, undefined when there is none (or no catalog is mounted). */
  resolveSku(sku: string): Promise<Mention | undefined>;
  publish(message: FeedMessage): Promise<void>;
}

/** Posting, following, reading: the feed's rules over its store. */
export class FeedService {
  constructor(
    readonly store: FeedStore,
    private readonly deps: FeedDeps,
    readonly settings: FeedSettings,
  ) {}

  async post(authorId: string, input: NewPost): Promise<PostView> {
    const resolved = await Promise.all(mentionedSkus(input.body).map((sku) => this.deps.resolveSku(sku)));
    const mentions = resolved.filter((m): m is Mention => m !== undefined);
    const skus = mentions.map((m) => m.sku);
    // Decided once, when written: an author who grows past the threshold later keeps old posts fanned out.
    const fanOut = (await this.store.audienceSize(authorId, skus)) <= this.settings.fanoutThreshold;
    const { post, deliveries } = await this.store.createPost({
      authorId,
      body: input.body,
      images: input.images,
      mentions,
      fanOut,
    });
    await this.deps.publish({
      kind: 'delivered',
      post,
      deliveries: deliveries.map((d) => [d.userId, d.seq]),
    });
    if (!fanOut) await this.deps.publish({ kind: 'merge', authorId, skus });
    return post;
  }

  /** Merges what the reader follows above the threshold into their feed; wakes their streams if it did. */
  async merge(userId: string): Promise<number> {
    const merged = await this.store.mergeFollowed(userId, this.settings.mergeWindowDays);
    if (merged.length > 0) await this.deps.publish({ kind: 'wake', userIds: [userId] });
    return merged.length;
  }

  async home(userId: string, before: number | undefined, limit: number) {
    let page = await this.store.homePage(userId, before, limit);
    // Merging only matters for the newest page (older pages are before anything merged now), and
    // only for readers who follow someone above the threshold: for the others one query is all.
    if (before === undefined && page.mergesOnRead && (await this.merge(userId)) > 0) {
      page = await this.store.homePage(userId, before, limit);
    }
    const { items } = page;
    return { items, next: items.length === limit ? (items.at(-1)?.seq ?? null) : null };
  }

  /**
   * A live stream's start, once it is registered: merges what the reader follows above the
   * threshold and answers the reader's last sequence before that merge (where a stream without a
   * resume point starts), so the merged posts follow on the stream as catch-up. One query for
   * readers who follow no one above it.
   */
  async streamStart(userId: string): Promise<number> {
    const { last, mergesOnRead } = await this.store.readerState(userId);
    if (mergesOnRead) await this.merge(userId);
    return last;
  }

  async visiblePost(id: string, viewer: { id: string; moderator: boolean }): Promise<PostView> {
    const post = await this.store.post(id);
    // A hidden post is gone for everyone but its author and the moderators.
    if (!post || (post.hidden && !viewer.moderator && post.authorId !== viewer.id)) {
      throw new NotFoundError(`no post ${id}`);
    }
    return post;
  }

  async followProduct(userId: string, sku: string, on: boolean): Promise<boolean> {
    if (on && !(await this.deps.resolveSku(sku))) throw new NotFoundError(`no product ${sku}`);
    const changed = await this.store.follow(userId, 'product', sku, on);
    if (on) await this.merge(userId);
    return changed;
  }

  async followUser(userId: string, target: string, on: boolean): Promise<boolean> {
    const changed = await this.store.follow(userId, 'user', target, on);
    if (on) await this.merge(userId);
    return changed;
  }
}
