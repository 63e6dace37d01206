import type { Registry } from '@bitv/shared/metrics';

/** One dependency as the page shows it, read from the process's `bv_dependency_*` series. */
export interface DependencyRow {
  name: string;
  state: 'closed' | 'half-open' | 'open';
  calls: Record<string, number>;
  timeouts: number;
  bulkheadRejections: number;
  retries: number;
}

const stateOf = (value: number): DependencyRow['state'] =>
  value >= 2 ? 'open' : value >= 1 ? 'half-open' : 'closed';

async function series(registry: Registry, name: string) {
  const metric = registry.getSingleMetric(name);
  return metric ? (await metric.get()).values : [];
}

/**
 * Every dependency policy of this process (SOAP bank, REST provider, webhook receivers, Redis)
 * with its breaker state and call counts, from the metrics registry the policies write to: the
 * page shows what `/metrics` shows, so the two never disagree.
 */
export async function dependencySnapshot(registry: Registry): Promise<DependencyRow[]> {
  const rows = new Map<string, DependencyRow>();
  const row = (name: string) => {
    let r = rows.get(name);
    if (!r) {
      r = { name, state: 'closed', calls: {}, timeouts: 0, bulkheadRejections: 0, retries: 0 };
      rows.set(name, r);
    }
    return r;
  };
  for (const v of await series(registry, 'bv_dependency_breaker_state')) {
    row(String(v.labels.dependency)).state = stateOf(v.value);
  }
  for (const v of await series(registry, 'bv_dependency_calls_total')) {
    row(String(v.labels.dependency)).calls[String(v.labels.outcome)] = v.value;
  }
  for (const v of await series(registry, 'bv_dependency_timeouts_total'))
    row(String(v.labels.dependency)).timeouts = v.value;
  for (const v of await series(registry, 'bv_dependency_bulkhead_rejections_total')) {
    row(String(v.labels.dependency)).bulkheadRejections = v.value;
  }
  for (const v of await series(registry, 'bv_dependency_retries_total'))
    row(String(v.labels.dependency)).retries = v.value;
  // open breakers first: what the reader came for
  const rank = { open: 0, 'half-open': 1, closed: 2 } as const;
  return [...rows.values()].sort((a, b) => rank[a.state] - rank[b.state] || a.name.localeCompare(b.name));
}
