import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The end-to-end test runs the whole platform and a browser: one file at a time.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
