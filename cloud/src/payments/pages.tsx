import { BitvError } from '@bitv/shared';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { actorOf } from '../api/principal.js';
import type { DashboardKit, UserPrincipal } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import type { PaymentFlags, ProviderRules } from './flags.js';
import type { PaymentReads, PaymentRow } from './read-models.js';
import { type Finding, isDay, type Reconciliation, type RunSummary } from './reconciliation.js';

export const paymentsNav: NavEntry = {
  id: 'payments',
  href: '/payments',
  label: 'Payments',
  roles: [...staffRoles],
  order: 27,
  testId: 'nav-payments',
};

const css = `
.payments table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
.payments th, .payments td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }
.payments .num { text-align: right; font-variant-numeric: tabular-nums; }
.payments .pill.pay-failed, .payments .pill.finding { background: #fde2e1; }
.payments .pill.pay-captured { background: #dff5e1; }
.payments .error { color: #b00020; }
.payments form.toggle label { display: block; margin: .3rem 0; }
`;

const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;

function PaymentsTable(props: { payments: PaymentRow[] }) {
  return (
    <table data-testid="payments-table">
      <thead>
        <tr>
          <th>Payment</th>
          <th>Order</th>
          <th>Site</th>
          <th>Provider</th>
          <th>Status</th>
          <th class="num">Authorized</th>
          <th class="num">Captured</th>
          <th class="num">Refunded</th>
        </tr>
      </thead>
      <tbody>
        {props.payments.map((p) => (
          <tr data-payment={p.paymentId} data-testid="payment-row">
            <td>{p.paymentId}</td>
            <td>
              <a href={`/orders/${encodeURIComponent(p.orderId)}`}>{p.orderId}</a>
            </td>
            <td>{p.merchantId}</td>
            <td data-testid="payment-provider">{p.provider}</td>
            <td>
              <span class={`pill pay-${p.status}`} data-testid="payment-status">
                {p.status}
              </span>
              {p.failure ? <small> {p.failure.code}</small> : null}
            </td>
            <td class="num">{money(p.authorizedMinor, p.currency)}</td>
            <td class="num">{money(p.capturedMinor, p.currency)}</td>
            <td class="num">{money(p.refundedMinor, p.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FindingsSection(props: { runs: RunSummary[]; findings: Finding[]; canRun: boolean }) {
  return (
    <section data-testid="reconciliation">
      <h2>Reconciliation</h2>
      {props.canRun ? (
        <form method="post" action="/payments/reconcile" class="inline" data-testid="reconcile-form">
          <input type="date" name="day" required data-testid="reconcile-day" />
          <button type="submit">Reconcile day</button>
        </form>
      ) : null}
      <table data-testid="reconciliation-runs">
        <thead>
          <tr>
            <th>Day</th>
            <th>Provider</th>
            <th class="num">Report lines</th>
            <th class="num">Matched</th>
            <th class="num">Findings</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr>
              <td>{r.day}</td>
              <td>{r.provider}</td>
              <td class="num">{r.lines}</td>
              <td class="num">{r.matched}</td>
              <td class="num" data-testid="run-findings">
                {r.findings}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.findings.length === 0 ? (
        <p data-testid="no-findings">No mismatches.</p>
      ) : (
        <table data-testid="findings">
          <thead>
            <tr>
              <th>Day</th>
              <th>Provider</th>
              <th>Payment</th>
              <th>Operation</th>
              <th>Kind</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {props.findings.map((f) => (
              <tr data-testid="finding">
                <td>{f.day}</td>
                <td>{f.provider}</td>
                <td>{f.paymentId}</td>
                <td>{f.operation}</td>
                <td>
                  <span class="pill finding">{f.kind}</span>
                </td>
                <td>{f.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ToggleSection(props: {
  rules: ProviderRules;
  providers: readonly string[];
  updatedBy: string;
  updatedAt?: string;
  canEdit: boolean;
  error?: string;
}) {
  const { rules, providers, canEdit } = props;
  const merchants = Object.entries(rules.merchants)
    .map(([m, p]) => `${m}=${p}`)
    .join(', ');
  return (
    <section data-testid="toggle">
      <h2>Provider toggle (payments.provider)</h2>
      <p>
        New payments: merchants listed go to their provider; then{' '}
        <strong data-testid="toggle-percent">
          {rules.percentage ? `${rules.percentage.percent} %` : '0 %'}
        </strong>{' '}
        to <strong>{rules.percentage?.provider ?? '-'}</strong>; the rest to{' '}
        <strong data-testid="toggle-default">{rules.defaultProvider}</strong>. A payment stays with the
        provider that authorized it. Set by {props.updatedBy}
        {props.updatedAt ? ` at ${props.updatedAt.slice(0, 19).replace('T', ' ')}` : ''}.
      </p>
      <p>
        Per merchant: <span data-testid="toggle-merchants">{merchants || 'none'}</span>
      </p>
      {props.error ? (
        <p class="error" data-testid="toggle-error">
          {props.error}
        </p>
      ) : null}
      {canEdit ? (
        <form method="post" action="/payments/toggle" class="toggle" data-testid="toggle-form">
          <label>
            Default provider{' '}
            <select name="defaultProvider" data-testid="toggle-default-select">
              {providers.map((p) => (
                <option value={p} selected={p === rules.defaultProvider}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label>
            Percentage to{' '}
            <select name="percentProvider" data-testid="toggle-percent-provider">
              {providers.map((p) => (
                <option value={p} selected={p === rules.percentage?.provider}>
                  {p}
                </option>
              ))}
            </select>{' '}
            <input
              type="number"
              name="percent"
              min="0"
              max="100"
              value={String(rules.percentage?.percent ?? 0)}
              data-testid="toggle-percent-input"
            />{' '}
            %
          </label>
          <label>
            Per merchant (site=provider, comma separated){' '}
            <input name="merchants" value={merchants} data-testid="toggle-merchants-input" />
          </label>
          <button type="submit" data-testid="toggle-save">
            Save
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** The payments page: payments with their status, reconciliation findings, the provider toggle. */
export function paymentsPages(deps: {
  kit: DashboardKit;
  reads: PaymentReads;
  flags: PaymentFlags;
  reconciliation: Reconciliation;
  /** Reconciles one day against every provider now. */
  reconcile: (day: string) => Promise<unknown>;
}): Hono {
  const { kit, reads, flags, reconciliation } = deps;
  const app = new Hono();

  const render = async (c: Context, user: UserPrincipal, error?: string) => {
    const [payments, recon] = await Promise.all([
      reads.list({ sites: user.sites, limit: 100 }),
      reconciliation.list(),
    ]);
    const toggle = flags.rules();
    const actorName = await kit.actorNames([toggle.updatedBy]);
    return kit.page(
      c,
      { title: 'Payments', active: 'payments', user },
      <div class="payments" id="payments">
        <style>{css}</style>
        <h1>Payments</h1>
        <PaymentsTable payments={payments} />
        <ToggleSection
          {...toggle}
          updatedBy={actorName(toggle.updatedBy)}
          canEdit={user.role === 'admin'}
          {...(error ? { error } : {})}
        />
        <FindingsSection runs={recon.runs} findings={recon.findings} canRun={user.role !== 'staff'} />
      </div>,
    );
  };
  const staffOnly = async (c: Context): Promise<UserPrincipal | Response> => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!staffRoles.has(user.role)) return kit.forbidden(c);
    return user;
  };

  app.get('/payments', async (c) => {
    const user = await staffOnly(c);
    if (user instanceof Response) return user;
    return render(c, user);
  });

  app.post('/payments/toggle', async (c) => {
    const user = await staffOnly(c);
    if (user instanceof Response) return user;
    if (user.role !== 'admin') return kit.forbidden(c);
    const form = await c.req.parseBody();
    const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim() : '');
    const merchants: Record<string, string> = {};
    for (const pair of text('merchants')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [m, p] = pair.split('=').map((s) => s.trim());
      if (m && p) merchants[m] = p;
    }
    const percent = Number(text('percent') || '0');
    try {
      await flags.set(
        {
          defaultProvider: text('defaultProvider'),
          merchants,
          percentage: percent > 0 ? { provider: text('percentProvider'), percent } : null,
        },
        actorOf(user),
      );
    } catch (error) {
      if (!(error instanceof BitvError) || error.retriable) throw error;
      return render(c, user, error.message);
    }
    return c.redirect('/payments', 303);
  });

  app.post('/payments/reconcile', async (c) => {
    const user = await staffOnly(c);
    if (user instanceof Response) return user;
    if (user.role === 'staff') return kit.forbidden(c);
    const form = await c.req.parseBody();
    const day = typeof form.day === 'string' ? form.day : '';
    if (!isDay(day)) return render(c, user, `not a day: "${day}" (YYYY-MM-DD)`);
    await deps.reconcile(day);
    return c.redirect('/payments', 303);
  });
  return app;
}
