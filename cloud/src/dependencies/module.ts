import type { CloudModule, ModuleContext } from '../module.js';
import { dependenciesNav, dependenciesPages } from './pages.js';

/**
 * The dependencies page: the state of every dependency policy in this process (@bitv/shared/
 * resilience), read from the metrics registry the policies write to. No tables, no events.
 */
export async function createDependenciesModule(ctx: ModuleContext): Promise<CloudModule> {
  return {
    name: 'dependencies',
    pages: dependenciesPages({ kit: ctx.dashboard, metrics: ctx.metrics }),
    nav: [dependenciesNav],
  };
}
