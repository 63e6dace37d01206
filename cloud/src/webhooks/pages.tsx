import { BitvError } from '@bitv/shared';
import { type Context, Hono } from 'hono';
import type { DashboardKit, UserPrincipal } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import { endpointInput } from './routes.js';
import type { WebhookService } from './service.js';
import type { Endpoint, WebhookStore } from './store.js';
import { WebhooksPage, type WebhooksPageData } from './webhooks-page.js';

export const webhooksNav: NavEntry = {
  id: 'webhooks',
  href: '/partner/webhooks',
  label: 'Webhooks',
  roles: ['partner', 'admin'],
  order: 91,
  testId: 'nav-webhooks',
};

const owners: ReadonlySet<string> = new Set(['partner', 'admin']);

/** The partner's webhook page; forms post same-origin with the session cookie, like /partner. */
export function webhooksPages(deps: {
  kit: DashboardKit;
  store: WebhookStore;
  service: WebhookService;
}): Hono {
  const { kit, store, service } = deps;
  const app = new Hono();

  const owner = async (c: Context, post: boolean): Promise<UserPrincipal | Response> => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!owners.has(user.role)) return kit.forbidden(c);
    const origin = c.req.header('origin');
    if (post && origin !== undefined && origin !== new URL(c.req.url).origin) return kit.forbidden(c);
    return user;
  };

  const own = async (user: UserPrincipal, id: string): Promise<Endpoint | undefined> => {
    const e = await store.endpoint(id).catch(() => undefined);
    return e && e.ownerId === user.id ? e : undefined;
  };

  const render = async (
    c: Context,
    user: UserPrincipal,
    extra: { selectedId?: string; error?: string; flash?: string } = {},
  ) => {
    const endpoints = await store.endpoints(user.id);
    const selected = endpoints.find((e) => e.id === extra.selectedId) ?? endpoints[0];
    const rows = selected ? await store.deliveries(selected.id, { limit: 50 }) : [];
    const deliveries = await Promise.all(rows.map(async (r) => ({ ...r, log: await store.attempts(r.id) })));
    const data: WebhooksPageData = {
      endpoints,
      deliveries,
      notices: await store.notices(user.id, 10),
      ...(selected ? { selected } : {}),
      ...(extra.error ? { error: extra.error } : {}),
      ...(extra.flash ? { flash: extra.flash } : {}),
    };
    return kit.page(c, { title: 'Webhooks', active: 'webhooks', user }, <WebhooksPage data={data} />);
  };

  app.get('/partner/webhooks', async (c) => {
    const user = await owner(c, false);
    if (user instanceof Response) return user;
    const selectedId = c.req.query('endpoint')?.slice(0, 64);
    return render(c, user, selectedId ? { selectedId } : {});
  });

  app.post('/partner/webhooks', async (c) => {
    const user = await owner(c, true);
    if (user instanceof Response) return user;
    const form = await c.req.parseBody();
    const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim() : '');
    const rate = text('ratePerSecond');
    const parsed = endpointInput.safeParse({
      url: text('url'),
      description: text('description') || undefined,
      eventTypes: text('eventTypes')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      inOrder: text('inOrder') === 'on',
      ratePerSecond: rate === '' ? null : Number(rate),
    });
    if (!parsed.success) {
      return render(c, user, {
        error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    }
    try {
      const created = await service.createEndpoint(user.id, parsed.data);
      return c.redirect(`/partner/webhooks?endpoint=${created.id}`, 303);
    } catch (error) {
      if (error instanceof BitvError) return render(c, user, { error: error.message });
      throw error;
    }
  });

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(`/partner/webhooks/:id/${action}`, async (c) => {
      const user = await owner(c, true);
      if (user instanceof Response) return user;
      const e = await own(user, c.req.param('id'));
      if (!e) return kit.forbidden(c);
      await service.updateEndpoint(e.id, { enabled });
      return c.redirect(`/partner/webhooks?endpoint=${e.id}`, 303);
    });
  }

  app.post('/partner/webhooks/:id/deliveries/:deliveryId/retry', async (c) => {
    const user = await owner(c, true);
    if (user instanceof Response) return user;
    const e = await own(user, c.req.param('id'));
    const d = e ? await store.delivery(c.req.param('deliveryId')).catch(() => undefined) : undefined;
    if (!e || !d || d.endpointId !== e.id) return kit.forbidden(c);
    await service.retry(d.id);
    return c.redirect(`/partner/webhooks?endpoint=${e.id}`, 303);
  });

  app.post('/partner/webhooks/:id/replay', async (c) => {
    const user = await owner(c, true);
    if (user instanceof Response) return user;
    const e = await own(user, c.req.param('id'));
    if (!e) return kit.forbidden(c);
    const form = await c.req.parseBody();
    // datetime-local inputs carry no zone; the page labels them UTC.
    const at = (k: string) => {
      const v = typeof form[k] === 'string' ? (form[k] as string) : '';
      const t = Date.parse(/Z|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
      return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
    };
    const from = at('from');
    const to = at('to');
    if (!from || !to || from > to)
      return render(c, user, { selectedId: e.id, error: 'replay needs a from and a to, from first' });
    const n = await service.replay(e.id, from, to);
    return render(c, user, { selectedId: e.id, flash: `${n} deliveries queued again` });
  });

  return app;
}
