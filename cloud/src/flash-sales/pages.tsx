import { Hono } from 'hono';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import { flashScript } from './flash-script.js';
import type { FlashSale, SaleState } from './sale.js';
import type { FlashSaleService } from './service.js';

const everyone = ['partner', 'staff', 'operator', 'admin'];
const assetHeaders = { 'cache-control': 'max-age=300' };

export const flashSalesNav: NavEntry = {
  id: 'flash-sales',
  href: '/flash-sales',
  label: 'Flash sales',
  roles: everyone,
  order: 61,
  testId: 'nav-flash-sales',
};

const flashCss = `
.flash .sales{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.flash .big{font-size:28px;font-weight:600}.flash dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:8px 0}
.flash dt{color:var(--muted);font-size:13px}.flash .pill.phase-live{background:#dcfce7;color:#166534}
.flash .pill.phase-upcoming{background:#e0e7ff;color:#3730a3}.flash .pill.phase-sold_out{background:#fee2e2;color:#991b1b}
.flash .pill.phase-ended{background:#f3f4f6;color:#4b5563}.flash form.create label{display:block;font-size:13px;color:var(--muted);margin:8px 0 2px}.flash form.create input{display:block;width:100%;box-sizing:border-box}
`;

function SaleCard(props: { sale: FlashSale; state: SaleState }) {
  const { sale, state } = props;
  return (
    <div
      class="card"
      data-sale={sale.id}
      data-phase={state.phase}
      data-remaining={String(state.remaining)}
      data-testid="flash-sale"
    >
      <h2>
        {sale.title}{' '}
        <span class={`pill phase-${state.phase}`} data-phase>
          {state.phase.replace('_', ' ')}
        </span>{' '}
        <span class="pill off" data-live>
          connecting
        </span>
      </h2>
      <div class="big">
        <span data-remaining data-testid="flash-remaining">
          {String(state.remaining)}
        </span>{' '}
        left
      </div>
      <div data-countdown data-testid="flash-countdown"></div>
      <dl>
        <dt>SKU</dt>
        <dd>
          <code>{sale.sku}</code> at {sale.siteId}
        </dd>
        <dt>Sale quantity</dt>
        <dd>
          {String(sale.quantity)} (limit {String(sale.perCustomerLimit)} per customer)
        </dd>
        <dt>On the shelves</dt>
        <dd>
          <span data-available>{String(state.available)}</span> available
        </dd>
        <dt>Window</dt>
        <dd>
          {sale.startsAt.slice(0, 19).replace('T', ' ')} – {sale.endsAt.slice(0, 19).replace('T', ' ')} UTC
        </dd>
      </dl>
      <button type="button" data-buy data-testid="flash-buy">
        Buy 1
      </button>{' '}
      <span data-bought data-testid="flash-bought"></span>
    </div>
  );
}

/** The flash-sale page: every sale live (countdown, remaining), and a form for staff to create one. */
export function flashSalePages(deps: { kit: DashboardKit; service: FlashSaleService }): Hono {
  const { kit, service } = deps;
  const app = new Hono();
  app.get('/assets/flash-sales.js', (c) =>
    c.body(flashScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/flash-sales.css', (c) =>
    c.body(flashCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );
  app.get('/flash-sales', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!everyone.includes(user.role)) return kit.forbidden(c);
    const sales = await service.store.list(50);
    const states = await Promise.all(sales.map((s) => service.state(s.id, s)));
    const isStaff = staffRoles.has(user.role);
    return kit.page(
      c,
      { title: 'Flash sales', active: 'flash-sales', user, scripts: ['/assets/flash-sales.js'] },
      <div class="flash" id="flash-sales">
        <link rel="stylesheet" href="/assets/flash-sales.css" />
        <h1>Flash sales</h1>
        <p class="error" id="flash-error" data-testid="flash-error"></p>
        {sales.length === 0 ? <p class="none">No flash sales yet.</p> : null}
        <div class="sales">
          {sales.map((s, i) => (
            <SaleCard sale={s} state={states[i] as SaleState} />
          ))}
        </div>
        {isStaff ? (
          <form class="card create" id="flash-create" data-testid="flash-create">
            <h2>New flash sale</h2>
            <label>
              SKU
              <input name="sku" required maxlength={64} />
            </label>
            <label>
              Site
              <input name="siteId" required maxlength={128} value={user.sites?.[0] ?? ''} />
            </label>
            <label>
              Title (optional)
              <input name="title" maxlength={200} />
            </label>
            <label>
              Starts in (seconds)
              <input name="startIn" type="number" min="0" value="0" required />
            </label>
            <label>
              Runs for (minutes)
              <input name="minutes" type="number" min="1" value="30" required />
            </label>
            <label>
              Quantity
              <input name="quantity" type="number" min="1" value="10" required />
            </label>
            <label>
              Per-customer limit
              <input name="limit" type="number" min="1" value="2" required />
            </label>
            <div>
              <button type="submit" data-testid="flash-create-submit">
                Create
              </button>
            </div>
          </form>
        ) : null}
      </div>,
    );
  });
  return app;
}
