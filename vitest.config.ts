import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/helpers/longest-first-sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Server and browser tests start processes of their own and spend much of their time waiting
    // on them: with two files at a time a 2-core machine was a third idle through the suite (user +
    // system time 1.3 cores), so three.
    maxWorkers: 3,
    sequence: { sequencer: LongestFirstSequencer },
    // Domain tests run as a shop whose sender is set (a fresh install has none: tests of that say so).
    env: { MAIL_FROM: 'Frobozz Electric <newsletter@localhost>' },
  },
});
