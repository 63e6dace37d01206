import { ValidationError } from '@bitv/shared';
import { z } from 'zod';
import { type Principal, personOf } from '../api/principal.js';
import { type AnyRoute, type RouteInput, route } from '../api/route.js';
import { maxPostChars, newPost } from './post.js';
import type { FeedService } from './service.js';
import type { FeedStreams } from './streams.js';

const everyone = ['partner', 'staff', 'operator', 'admin'] as const;
export const moderators = ['staff', 'operator', 'admin'] as const;
const postId = z.object({ id: z.string().regex(/^\d{1,18}$/, 'a post id is a number') });
const seqCursor = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const limit = z.coerce.number().int().min(1).max(100).default(20);

const mention = z.object({ sku: z.string(), name: z.string() });
const post = z.object({
  id: z.string(),
  authorId: z.string(),
  body: z.string(),
  images: z.array(z.string()),
  mentions: z.array(mention),
  likes: z.number().int(),
  comments: z.number().int(),
  reports: z.number().int(),
  hidden: z.boolean(),
  fannedOut: z.boolean(),
  createdAt: z.string(),
});
const item = z.object({ seq: z.number().int(), post });
const comment = z.object({
  id: z.string(),
  postId: z.string(),
  authorId: z.string(),
  body: z.string(),
  createdAt: z.string(),
});

export function isModerator(p: Principal): boolean {
  return p.kind !== 'gateway' && (moderators as readonly string[]).includes(p.role);
}

function me(p: Principal): string {
  return personOf(p) as string;
}

export function feedRoutes(service: FeedService, streams: FeedStreams): AnyRoute[] {
  const { store } = service;
  return [
    route({
      method: 'post',
      path: '/api/v1/feed/posts',
      summary: `Write a post (up to ${maxPostChars} characters; \`#SKU\` mentions resolved by the catalog; up to 4 http(s) image URLs)`,
      tag: 'feed',
      access: everyone,
      body: newPost,
      response: post,
      status: 201,
      handler: async ({ body, principal }) => service.post(me(principal), body),
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/home',
      summary: 'My home feed, newest first; `before` is the `next` of the previous page (a feed sequence)',
      tag: 'feed',
      access: everyone,
      query: z.object({ before: seqCursor.optional(), limit }),
      response: z.object({ items: z.array(item), next: z.number().int().nullable() }),
      handler: async ({ query, principal }) => service.home(me(principal), query.before, query.limit),
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/stream',
      summary:
        'My home feed as Server-Sent Events (`text/event-stream`): `event: post`, `id:` my feed sequence; `Last-Event-ID` (or `?after=`) resumes after it without a gap; a comment line every heartbeat',
      tag: 'feed',
      access: everyone,
      query: z.object({ after: seqCursor.optional() }),
      response: z.string().describe('text/event-stream'),
      // A Response (the stream), typed as the body for OpenAPI.
      handler: (async ({ query, principal, c }: RouteInput<unknown, { after?: number }, unknown>) => {
        const userId = me(principal);
        const header = c.req.header('last-event-id');
        let after = query.after;
        if (header !== undefined && header !== '') {
          const parsed = seqCursor.safeParse(header);
          if (!parsed.success) throw new ValidationError('Last-Event-ID must be a feed sequence number');
          after = parsed.data;
        }
        // The stream merges what the reader follows above the threshold once it is registered
        // (see FeedStreams.open), so a resume reads what it missed, merged posts included.
        return new Response(streams.open(userId, after), {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            // Proxies (nginx) must not hold events back.
            'x-accel-buffering': 'no',
          },
        });
      }) as unknown as () => Promise<string>,
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/users/:id/posts',
      summary: "A user's posts, newest first; `before` is a post id",
      tag: 'feed',
      access: everyone,
      params: z.object({ id: z.string().min(1).max(128) }),
      query: z.object({
        before: z
          .string()
          .regex(/^\d{1,18}$/)
          .optional(),
        limit,
      }),
      response: z.object({ posts: z.array(post), next: z.string().nullable() }),
      handler: async ({ params, query, principal }) => {
        const withHidden = isModerator(principal) || params.id === me(principal);
        const posts = await store.userPosts(params.id, query.before, query.limit, withHidden);
        return { posts, next: posts.length === query.limit ? (posts.at(-1)?.id ?? null) : null };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/posts/:id',
      summary: 'One post with its comments',
      tag: 'feed',
      access: everyone,
      params: postId,
      response: z.object({ post, comments: z.array(comment) }),
      errors: { '404': 'no such post (or hidden)' },
      handler: async ({ params, principal }) => {
        const found = await service.visiblePost(params.id, {
          id: me(principal),
          moderator: isModerator(principal),
        });
        return { post: found, comments: await store.comments(params.id, 200) };
      },
    }),
    ...(['put', 'delete'] as const).map((method) =>
      route({
        method,
        path: '/api/v1/feed/posts/:id/like',
        summary: method === 'put' ? 'Like a post (once per user)' : 'Take a like back',
        tag: 'feed',
        access: everyone,
        params: postId,
        response: z.object({ likes: z.number().int() }),
        errors: { '404': 'no such post' },
        handler: async ({ params, principal }) => {
          await service.visiblePost(params.id, { id: me(principal), moderator: isModerator(principal) });
          return { likes: await store.like(params.id, me(principal), method === 'put') };
        },
      }),
    ),
    route({
      method: 'post',
      path: '/api/v1/feed/posts/:id/comments',
      summary: 'Comment on a post',
      tag: 'feed',
      access: everyone,
      params: postId,
      body: z.object({ body: z.string().trim().min(1).max(1_000) }).strict(),
      response: comment,
      status: 201,
      errors: { '404': 'no such post' },
      handler: async ({ params, body, principal }) => {
        await service.visiblePost(params.id, { id: me(principal), moderator: isModerator(principal) });
        return store.comment(params.id, me(principal), body.body);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/feed/posts/:id/report',
      summary: 'Report a post to the moderators (once per user)',
      tag: 'feed',
      access: everyone,
      params: postId,
      body: z.object({ reason: z.string().trim().min(1).max(500) }).strict(),
      response: z.object({ reports: z.number().int() }),
      errors: { '404': 'no such post' },
      handler: async ({ params, body, principal }) => {
        await service.visiblePost(params.id, { id: me(principal), moderator: isModerator(principal) });
        return { reports: await store.report(params.id, me(principal), body.reason) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/feed/posts/:id/hide',
      summary: 'Hide a post from every feed, or show it again (moderators: staff, operator, admin)',
      tag: 'feed',
      access: moderators,
      params: postId,
      body: z.object({ hidden: z.boolean() }).strict(),
      response: z.object({ id: z.string(), hidden: z.boolean() }),
      errors: { '404': 'no such post' },
      handler: async ({ params, body, principal }) => {
        await service.visiblePost(params.id, { id: me(principal), moderator: true });
        await store.hide(params.id, me(principal), body.hidden);
        return { id: params.id, hidden: body.hidden };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/reported',
      summary: 'Reported posts, most reported first (moderators)',
      tag: 'feed',
      access: moderators,
      response: z.object({ posts: z.array(post) }),
      handler: async () => ({ posts: await store.reported(100) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/feed/follows',
      summary: 'Whom and which products I follow',
      tag: 'feed',
      access: everyone,
      response: z.object({
        follows: z.array(z.object({ kind: z.enum(['user', 'product']), target: z.string() })),
      }),
      handler: async ({ principal }) => ({ follows: await store.following(me(principal)) }),
    }),
    ...(['put', 'delete'] as const).map((method) =>
      route({
        method,
        path: '/api/v1/feed/follows/:kind/:target',
        summary: method === 'put' ? 'Follow a user or a product (SKU)' : 'Stop following a user or a product',
        tag: 'feed',
        access: everyone,
        params: z.object({ kind: z.enum(['user', 'product']), target: z.string().min(1).max(128) }),
        response: z.object({
          kind: z.string(),
          target: z.string(),
          following: z.boolean(),
          changed: z.boolean(),
        }),
        errors: { '404': 'no such product' },
        handler: async ({ params, principal }) => {
          const on = method === 'put';
          if (params.kind === 'user' && params.target === me(principal)) {
            throw new ValidationError('one does not follow oneself (your posts are in your feed already)');
          }
          const changed =
            params.kind === 'user'
              ? await service.followUser(me(principal), params.target, on)
              : await service.followProduct(me(principal), params.target, on);
          return { ...params, following: on, changed };
        },
      }),
    ),
  ];
}
