import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/server.ts';
import { truthDatabase } from '../helpers/truth.ts';
import { parseCorpus } from '../../scripts/truth/corpus.ts';
import { runTruth, type TruthResult } from '../../scripts/truth/replay.ts';

/**
 * One answer on every instance: everything a verdict depends on lives in the database, so two
 * server processes on one PostgreSQL behind a round-robin proxy (each case's hits alternate
 * between them, a sweep split across both), and one process killed in the middle of a sweep and
 * started again, store exactly the classes, and show exactly the figures, one process does.
 */
const corpus = parseCorpus(readFileSync(path.join(projectRoot, 'test/fixtures/truth/corpus.json'), 'utf8'));
const database = process.env.TEST_DATABASE_URL;

/** Every stored hit's class, case by case, and the figures shown. */
function answer(result: TruthResult) {
  const classes = Object.fromEntries(
    [...result.hits].map(([name, hits]) => [
      name,
      { opens: hits.opens.map((h) => h.class), clicks: hits.clicks.map((h) => h.class) },
    ]),
  );
  return { classes, shown: result.shown };
}

describe.runIf(database)('one answer on every instance [postgres]', () => {
  let one: ReturnType<typeof answer>;

  it('one server process', async () => {
    one = answer(await runTruth(corpus, truthDatabase('postgres')));
    expect(Object.keys(one.classes)).toHaveLength(corpus.cases.length);
  }, 240_000);

  it('two server processes behind a round-robin proxy give the same classes and figures', async () => {
    const result = await runTruth(corpus, { ...truthDatabase('postgres'), servers: 2 });
    // Both answered a fair share of the requests (the proxy alternates).
    for (const n of result.stats.requestsPerServer) expect(n).toBeGreaterThan(200);
    const two = answer(result);
    expect(two.classes).toEqual(one.classes);
    expect(two.shown).toEqual(one.shown);
  }, 240_000);

  it('a server killed in the middle of a sweep and started again gives the same classes and figures', async () => {
    const result = await runTruth(corpus, { ...truthDatabase('postgres'), restartMidSweep: true });
    expect(result.stats.restarts).toBe(1);
    const restarted = answer(result);
    expect(restarted.classes).toEqual(one.classes);
    expect(restarted.shown).toEqual(one.shown);
  }, 240_000);
});
