import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The suite's longest files, longest first, as measured in a fresh clone's `.ci/run` on a 2-core
 * machine (each half a minute or more: crash tests that restart servers a dozen times, the corpus
 * replayed by several server processes, first-day browser journeys). A fresh clone has no
 * durations from an earlier run, so Vitest would order files by size, and a long file that
 * happened to start last ran alone at the end (the corpus replays: 95 s). Started first, they
 * overlap with the many short files instead.
 */
const LONGEST = [
  'test/server/send-crash.test.ts',
  'test/server/experiments-crash.test.ts',
  'test/server/truth-instances.test.ts',
  'test/e2e/first-send.test.ts',
  'test/server/truth-corpus.test.ts',
  'test/e2e/first-day.test.ts',
  'test/server/truth-bullets.test.ts',
  'test/server/accounts.test.ts',
  'test/e2e/reports.test.ts',
  'test/server/subscribers.test.ts',
  'test/lib/subscribers/import.test.ts',
  'test/server/builds.test.ts',
  'test/e2e/attribution.test.ts',
  'test/e2e/security-headers.test.ts',
  'test/e2e/experiment-send.test.ts',
];

const rank = (spec: TestSpecification): number => {
  const at = LONGEST.findIndex((file) => spec.moduleId.endsWith(file));
  return at < 0 ? LONGEST.length : at;
};

/** Vitest's own order (failed first, then by the last run's durations, or size), with the longest files moved to the front. */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return sorted
      .map((spec, order) => ({ spec, order }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.order - b.order)
      .map(({ spec }) => spec);
  }
}
