import type { Registry } from '@bitv/shared/metrics';
import { Hono } from 'hono';
import type { DashboardKit } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import { type DependencyRow, dependencySnapshot } from './snapshot.js';

export const dependenciesNav: NavEntry = {
  id: 'dependencies',
  href: '/ops/dependencies',
  label: 'Dependencies',
  roles: ['admin'],
  order: 95,
  testId: 'nav-dependencies',
};

const pill = { closed: 'on', 'half-open': 'sent', open: 'off' } as const;
const outcomes = ['success', 'failure', 'timeout', 'rejected_open', 'rejected_bulkhead', 'aborted'] as const;

function DependenciesPage(props: { rows: DependencyRow[] }) {
  return (
    <section>
      <h1>Dependencies</h1>
      <p class="sub">
        Every outbound dependency's circuit breaker, timeout and bulkhead (docs/resilience.md). An open
        breaker answers at once with 503 and Retry-After until its trial call.
      </p>
      {props.rows.length === 0 ? (
        <p class="none" data-testid="dependencies-none">
          No dependency has been called yet.
        </p>
      ) : (
        <table data-testid="dependencies">
          <thead>
            <tr>
              <th>dependency</th>
              <th>breaker</th>
              {outcomes.map((o) => (
                <th class="num">{o.replace('_', ' ')}</th>
              ))}
              <th class="num">retries</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => (
              <tr data-testid="dependency-row" data-dependency={r.name} data-state={r.state}>
                <td>
                  <code>{r.name}</code>
                </td>
                <td>
                  <span class={`pill ${pill[r.state]}`} data-testid="dependency-state">
                    {r.state}
                  </span>
                </td>
                {outcomes.map((o) => (
                  <td class="num" data-testid={`dependency-${o}`}>
                    {r.calls[o] ?? 0}
                  </td>
                ))}
                <td class="num">{r.retries}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The admin's page of dependency health (read only). */
export function dependenciesPages(deps: { kit: DashboardKit; metrics: Registry }): Hono {
  const { kit, metrics } = deps;
  const app = new Hono();
  app.get('/ops/dependencies', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (user.role !== 'admin') return kit.forbidden(c);
    const rows = await dependencySnapshot(metrics);
    return kit.page(
      c,
      { title: 'Dependencies', active: 'dependencies', user },
      <DependenciesPage rows={rows} />,
    );
  });
  return app;
}
