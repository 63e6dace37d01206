import { defineConfig } from 'vitest/config';

// One test command for the whole monorepo; each workspace is a project so its own
// vitest.config.ts (timeouts, pools) applies when it has one.
export default defineConfig({
  test: {
    projects: ['shared', 'proto', 'firmware-sim', 'edge-agent', 'gateway', 'cloud', 'infra', 'hil-tests'],
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
