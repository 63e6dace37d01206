import { NotFoundError } from '@bitv/shared';
import { counter } from '@bitv/shared/metrics';
import type { CloudModule, ModuleContext } from '../module.js';
import { migrateFeed } from './migrations.js';
import { feedNav, feedPages } from './pages.js';
import { feedRoutes } from './routes.js';
import {
  type FeedMessage,
  FeedService,
  type FeedSettings,
  feedChannel,
  feedDefaults,
  feedMessage,
} from './service.js';
import { FeedStore } from './store.js';
import { type FeedStreamSettings, FeedStreams, feedStreamDefaults } from './streams.js';

export type FeedModuleSettings = FeedSettings & FeedStreamSettings;
export const feedModuleDefaults: FeedModuleSettings = { ...feedDefaults, ...feedStreamDefaults };

/**
 * The social feed: posts with product mentions and images, follows of users and products, likes,
 * comments, reports and moderation; home feeds by fan-out on write below the threshold and merge
 * on read above it; the home feed live over Server-Sent Events. Instances share deliveries through
 * the cache's pub/sub (Redis when configured), so a stream on any instance sees every post.
 */
export async function createFeedModule(
  ctx: ModuleContext,
  settings: Partial<FeedModuleSettings> = {},
): Promise<CloudModule> {
  const s = { ...feedModuleDefaults, ...settings };
  await migrateFeed(ctx.database);
  const logger = ctx.logger.child({ module: 'feed' });
  const store = new FeedStore(ctx.database);
  const streams = new FeedStreams(
    {
      itemsAfter: (userId, afterSeq, limit) => store.itemsAfter(userId, afterSeq, limit),
      streamStart: (userId) => service.streamStart(userId),
    },
    s,
    ctx.metrics,
    logger,
  );
  const service: FeedService = new FeedService(
    store,
    {
      resolveSku: async (sku) => {
        // The catalog is optional: without it no mention resolves, and posts keep their text.
        const catalog = ctx.apis.catalog;
        if (!catalog) return undefined;
        try {
          const product = await catalog.getProduct(sku);
          return { sku: product.sku, name: product.name };
        } catch (error) {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }
      },
      publish: (message) => ctx.cache.publish(feedChannel, message),
    },
    s,
  );
  const dropped = counter(
    ctx.metrics,
    'bv_feed_messages_dropped_total',
    'Feed pub/sub messages that were not feed messages',
  );
  let unsubscribe: (() => Promise<void>) | undefined;

  async function onMessage(message: FeedMessage): Promise<void> {
    if (message.kind === 'delivered') {
      for (const [userId, seq] of message.deliveries) streams.deliver(userId, seq, message.post);
    } else if (message.kind === 'wake') {
      for (const userId of message.userIds) streams.wake(userId);
    } else {
      // A post above the threshold: only the readers online here get it merged now; the others
      // when they next read or connect.
      const online = streams.onlineUsers();
      for (let i = 0; i < online.length; i += 1_000) {
        const followers = await store.followersAmong(
          online.slice(i, i + 1_000),
          message.authorId,
          message.skus,
        );
        for (const userId of followers) {
          if ((await store.mergeFollowed(userId, s.mergeWindowDays)).length > 0) streams.wake(userId);
        }
      }
    }
  }

  return {
    name: 'feed',
    routes: feedRoutes(service, streams),
    pages: feedPages({ kit: ctx.dashboard, service }),
    nav: [feedNav],
    health: {
      streams: async () => {
        await ctx.database.ping();
      },
    },
    async start() {
      unsubscribe = await ctx.cache.subscribe(feedChannel, (raw) => {
        const parsed = feedMessage.safeParse(raw);
        if (!parsed.success) {
          dropped.inc();
          logger.warn({ issues: parsed.error.issues.length }, 'feed message dropped: not a feed message');
          return;
        }
        onMessage(parsed.data).catch((error: unknown) => logger.warn({ err: error }, 'feed message failed'));
      });
    },
    async close() {
      await unsubscribe?.();
      streams.close();
    },
  };
}
