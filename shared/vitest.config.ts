import { defineProject } from 'vitest/config';

// The event-log contract suites run against real servers (Kafka group joins take seconds, the kill
// tests wait for a session or lease to expire), so they get a longer per-test limit.
export default defineProject({
  test: {
    name: 'shared',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
