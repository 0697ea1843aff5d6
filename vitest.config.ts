import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Server and browser tests start processes of their own; two files at a time suit a 2-core machine.
    maxWorkers: 2,
    // Domain tests run as a shop whose sender is set (a fresh install has none: tests of that say so).
    env: { MAIL_FROM: 'Frobozz Electric <newsletter@localhost>' },
  },
});
