import { defineProject } from 'vitest/config';

// Each test file starts a real cloud (PGlite or PostgreSQL, the database event log); forks keep
// PGlite's WASM memory per file, and the 2-core machine runs two at a time at most.
export default defineProject({
  test: {
    name: 'cloud',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // A cloud with every module migrates a dozen components before a suite starts.
    hookTimeout: 180_000,
  },
});
