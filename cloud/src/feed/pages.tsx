import { Hono } from 'hono';
import type { DashboardKit } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import { feedScript } from './feed-script.js';
import { FeedPage, feedCss } from './feed-views.js';
import { isModerator } from './routes.js';
import type { FeedService } from './service.js';

const everyone = ['partner', 'staff', 'operator', 'admin'];
const assetHeaders = { 'cache-control': 'max-age=300' };

export const feedNav: NavEntry = {
  id: 'feed',
  href: '/feed',
  label: 'Feed',
  roles: everyone,
  order: 60,
  testId: 'nav-feed',
};

/** The feed page: compose, the home feed live over SSE, follows, and the moderators' queue. */
export function feedPages(deps: { kit: DashboardKit; service: FeedService }): Hono {
  const { kit, service } = deps;
  const app = new Hono();
  app.get('/assets/feed.js', (c) =>
    c.body(feedScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/feed.css', (c) =>
    c.body(feedCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );
  app.get('/feed', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!everyone.includes(user.role)) return kit.forbidden(c);
    const moderator = isModerator(user);
    const { items } = await service.home(user.id, undefined, 30);
    const [lastSeq, follows, reported] = await Promise.all([
      service.store.lastSeq(user.id),
      service.store.following(user.id),
      moderator ? service.store.reported(20) : Promise.resolve([]),
    ]);
    return kit.page(
      c,
      { title: 'Feed', active: 'feed', user, scripts: ['/assets/feed.js'] },
      <>
        <link rel="stylesheet" href="/assets/feed.css" />
        <FeedPage data={{ me: user.id, items, lastSeq, follows, reported, moderator }} />
      </>,
    );
  });
  return app;
}
