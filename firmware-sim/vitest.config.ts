import { defineProject } from 'vitest/config';

// Pseudo-terminal tests spawn socat and open real ptys: run files one after another so two
// suites never compete for the 2 shared cores, and give I/O-bound tests room.
export default defineProject({
  test: {
    name: '@bitv/firmware-sim',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
