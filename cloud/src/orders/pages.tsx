import { NotFoundError, ValidationError } from '@bitv/shared';
import { formatIssue } from '@bitv/shared/events';
import { Hono } from 'hono';
import { z } from 'zod';
import { canSeeSite } from '../api/principal.js';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import type { RegistryApi } from '../registry/api.js';
import { orderStatuses } from './model.js';
import { OrderDetailPage, OrderListPage } from './order-views.js';
import { ordersCss, ordersScript } from './orders-script.js';
import type { OrderReadModels } from './read-models.js';
import { assertCanSee, isShopper } from './routes.js';

const shopperAndStaff = ['partner', ...staffRoles];

export const ordersNav: NavEntry = {
  id: 'orders',
  href: '/orders',
  label: 'Orders',
  roles: shopperAndStaff,
  order: 25,
  testId: 'nav-orders',
};

const pageSize = 50;
const assetHeaders = { 'cache-control': 'max-age=300' };
const slug = z.string().trim().min(1).max(128);
// An empty select or field is "any": the form sends it as "".
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const listQuery = z.object({
  site: optional(slug),
  status: optional(z.enum(orderStatuses as [string, ...string[]])),
  customer: optional(slug),
  before: optional(z.string().datetime()),
});

/** The orders pages: a list with filters and an order's detail with its timeline, both live. */
export function ordersPages(deps: {
  kit: DashboardKit;
  registry: Pick<RegistryApi, 'listSites'>;
  reads: OrderReadModels;
}): Hono {
  const { kit, registry, reads } = deps;
  const app = new Hono();
  app.get('/assets/orders.js', (c) =>
    c.body(ordersScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/orders.css', (c) =>
    c.body(ordersCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );

  app.get('/orders', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!shopperAndStaff.includes(user.role)) return kit.forbidden(c);
    const parsed = listQuery.safeParse(c.req.query());
    if (!parsed.success) throw new ValidationError(parsed.error.issues.map(formatIssue).join('; '));
    const q = parsed.data;
    const shopper = isShopper(user);
    if (!shopper && q.site && !canSeeSite(user, q.site)) return kit.forbidden(c);
    const [orders, sites] = await Promise.all([
      reads.list({
        // A shopper's list is their own orders whatever they ask; staff see their sites'.
        ...(shopper ? { customerId: user.id } : { siteIds: user.sites }),
        ...(q.site && !shopper ? { siteId: q.site } : {}),
        ...(q.customer && !shopper ? { customerId: q.customer } : {}),
        ...(q.status ? { status: q.status as (typeof orderStatuses)[number] } : {}),
        ...(q.before ? { before: q.before } : {}),
        limit: pageSize,
      }),
      shopper ? Promise.resolve([]) : registry.listSites(),
    ]);
    const filters = {
      ...(q.site && !shopper ? { site: q.site } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.customer && !shopper ? { customer: q.customer } : {}),
    };
    return kit.page(
      c,
      { title: 'Orders', active: 'orders', user, scripts: ['/assets/orders.js'] },
      <>
        <link rel="stylesheet" href="/assets/orders.css" />
        <OrderListPage
          data={{
            orders,
            filters,
            sites: sites.filter((s) => canSeeSite(user, s.id)).map((s) => ({ id: s.id, name: s.name })),
            statuses: orderStatuses,
            shopper,
            older: orders.length === pageSize ? (orders.at(-1)?.placedAt ?? null) : null,
          }}
        />
      </>,
    );
  });

  app.get('/orders/:id', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!shopperAndStaff.includes(user.role)) return kit.forbidden(c);
    const id = c.req.param('id');
    const order = await reads.get(id);
    if (!order) throw new NotFoundError('order not found');
    assertCanSee(user, order);
    const timeline = await reads.timeline(id);
    return kit.page(
      c,
      { title: `Order ${id}`, active: 'orders', user, scripts: ['/assets/orders.js'] },
      <>
        <link rel="stylesheet" href="/assets/orders.css" />
        <OrderDetailPage order={order} timeline={timeline} />
      </>,
    );
  });
  return app;
}
