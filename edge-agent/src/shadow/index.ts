import type { Logger } from '@bitv/shared/log';
import { counter, type Registry } from '@bitv/shared/metrics';
import type { Metric } from '@bitv/shared/sparkplug';
import type { Database } from 'better-sqlite3';
import type { Driver } from '../drivers/driver.js';
import { ShadowAgent } from './shadow.js';
import { ShadowStore } from './store.js';

export { ShadowAgent } from './shadow.js';
export { ShadowStore, type StoredShadow } from './store.js';

/** The agent's shadow on the outbox file, with its metric (`bv_edge_shadow_applied_total`). */
export function createShadow(deps: {
  db: Database;
  drivers: () => readonly Driver[];
  linked: () => readonly string[];
  report: (metrics: Metric[]) => void;
  logger: Logger;
  registry: Registry;
}): ShadowAgent {
  return new ShadowAgent({
    store: new ShadowStore(deps.db),
    drivers: deps.drivers,
    linked: deps.linked,
    report: deps.report,
    logger: deps.logger,
    applied: counter(deps.registry, 'bv_edge_shadow_applied_total', 'Shadow settings applied on shelves', [
      'setting',
      'outcome',
    ]),
  });
}
