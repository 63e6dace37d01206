import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const workspaces = [
  'shared',
  'proto',
  'firmware-sim',
  'hil-tests',
  'edge-agent',
  'gateway',
  'cloud',
  'infra',
];

// One test command for the whole monorepo. Each workspace is a project with its own settings
// (timeouts, parallelism) from its vitest.config.ts. Projects run one after another (a group
// each): many suites drive real servers (Kafka, PostgreSQL, Redis, Mosquitto) and pseudo-terminals,
// and on a 2-core machine running them all at once only trades speed for flakiness.
export default defineConfig({
  test: {
    projects: workspaces.map((ws, i) => ({
      ...(existsSync(`${ws}/vitest.config.ts`) ? { extends: `./${ws}/vitest.config.ts` } : {}),
      test: { name: `@bitv/${ws}`, root: `./${ws}`, sequence: { groupOrder: i } },
    })),
    // In CI every test's name is printed, and a JSON report lets .ci/run print the plain totals.
    reporters: process.env.CI
      ? ['verbose', ['json', { outputFile: 'test-results/vitest.json' }]]
      : ['default'],
  },
});
