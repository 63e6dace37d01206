import { defineProject } from 'vitest/config';

// One shelf (real or simulated) is shared by the whole suite: files and tests run in order.
export default defineProject({
  test: {
    name: '@bitv/hil-tests',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    pool: 'forks',
  },
});
