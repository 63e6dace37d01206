import { defineConfig } from 'vitest/config';

// Gateway tests start brokers, Redis-backed clusters and Kafka; run files one at a time so they
// do not compete for the two cores, with time for a private Kafka to start.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
