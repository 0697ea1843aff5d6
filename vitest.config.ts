import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/helpers/longest-first-sequencer.ts';

// Node's compile cache for every process of the run — the test workers (a new one per file), and
// the servers and scripts the tests start, hundreds a run: they reuse V8's compiled code and Node's
// type-stripped sources instead of redoing both at every start. Set here, before any worker starts.
process.env.NODE_COMPILE_CACHE ??= path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'node_modules/.cache/node-compile',
);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Server and browser tests start processes of their own; two files at a time suit a 2-core
    // machine (three took as long, load average 8, and a test of two workers sharing a send saw one
    // worker do it all).
    maxWorkers: 2,
    sequence: { sequencer: LongestFirstSequencer },
    // Domain tests run as a shop whose sender is set (a fresh install has none: tests of that say so).
    env: { MAIL_FROM: 'Frobozz Electric <newsletter@localhost>' },
  },
});
