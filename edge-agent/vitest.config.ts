import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: '@bitv/edge-agent',
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
