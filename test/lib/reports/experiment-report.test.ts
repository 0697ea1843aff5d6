import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { experimentReport, type ExperimentReport } from '#lib/reports/experiment-report.service.ts';
import { pruneRawEvents } from '#lib/reports/retention.service.ts';
import { eraseSubscriber } from '#lib/subscribers/subscribers.service.ts';
import { compareIssues } from '#lib/reports/issue-report.service.ts';
import { experimentText, winnerText } from '#lib/reports/comparison-table.ts';
import { experimentJson } from '#lib/reports/report-json.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedIssue } from '../../helpers/tracking.ts';
import { seedExperimentIssue, sweep, type Seeded } from '../../helpers/experiments.ts';

/**
 * Per-arm figures (issue 19) equal a direct count of raw rows — clicks, opens and visits by their
 * delivery's arm — through real tracking: a reader's click and landing, and a proxy whose sweep
 * later re-labels its click and landing as a machine's. Pruning every raw row and erasing a
 * subscriber then change no figure.
 *
 *   arm      deliveries   clicks (network, at)                                   clickers visitors
 *   A        4            a0 BT +1 h (lands), a1 BT +2 h (lands), a2 Comcast +3 h   3        2
 *   B        4            b0 BT +1 h (lands), b1 Zscaler +2 min (lands), then      1        1
 *                         a scanner on b1's network: b1 re-labelled a machine's
 *   rest     2            r0 BT +5 h (lands)                                       1        1
 *   holdout  2            (held out: never sent)                                   0        0
 *
 * Later visits (the maintained per-arm count): a0 and b1 come back the next day; b1's goes with
 * the verdict.
 */
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const SENT = Date.UTC(2026, 10, 24, 10, 0);
const REST_SENT = SENT + 4 * H;
const NOW = SENT + 3 * DAY;
const seed = (db: DB) => seedExperimentIssue(db, SENT);

/** Per arm, from raw rows: likely-human openers, human clickers, recipients who visited (deliveries, each once). */
async function directCounts(db: DB, issueId: number) {
  const deliveries = await db
    .selectFrom('deliveries')
    .select(['id', 'arm', 'status'])
    .where('issue_id', '=', issueId)
    .execute();
  const armOf = new Map(deliveries.map((d) => [Number(d.id), d.arm!]));
  const clicks = await db
    .selectFrom('clicks')
    .select(['delivery_id'])
    .where('issue_id', '=', issueId)
    .where('class', '=', 'human')
    .execute();
  const opens = await db
    .selectFrom('opens')
    .select(['delivery_id'])
    .where('issue_id', '=', issueId)
    .where('class', 'in', ['human', 'proxy'])
    .execute();
  const visits = await db
    .selectFrom('visits')
    .select(['delivery_id', 'is_later'])
    .where('issue_id', '=', issueId)
    .where('delivery_id', 'is not', null)
    .execute();
  const per = (ids: number[]) => {
    const out: Record<string, number> = {};
    for (const id of new Set(ids)) out[armOf.get(id)!] = (out[armOf.get(id)!] ?? 0) + 1;
    return out;
  };
  const clickers = clicks.map((c) => Number(c.delivery_id));
  return {
    size: per(deliveries.map((d) => Number(d.id))),
    delivered: per(deliveries.filter((d) => d.status === 'sent').map((d) => Number(d.id))),
    humanOpeners: per([...opens.map((o) => Number(o.delivery_id)), ...clickers]),
    clickers: per(clickers),
    visitors: per(visits.map((v) => Number(v.delivery_id))),
    laterVisits: visits
      .filter((v) => Number(v.is_later) === 1)
      .reduce<Record<string, number>>((out, v) => {
        const arm = armOf.get(Number(v.delivery_id))!;
        return { ...out, [arm]: (out[arm] ?? 0) + 1 };
      }, {}),
  };
}

const figuresOf = (report: ExperimentReport) => {
  const pick = (f: (a: ExperimentReport['arms'][number]) => number) =>
    Object.fromEntries(report.arms.map((a) => [a.arm, f(a)]).filter(([, n]) => n !== 0));
  return {
    size: pick((a) => a.size),
    delivered: pick((a) => a.delivered),
    humanOpeners: pick((a) => a.humanOpeners.count),
    clickers: pick((a) => a.clickers.count),
    visitors: pick((a) => a.visitors.count),
    laterVisits: pick((a) => a.laterVisits),
  };
};

describeEachDatabase('per-arm figures equal raw counts, after re-labelling, pruning and erasure', (db) => {
  let seeded: Seeded;
  let before: ReturnType<typeof figuresOf>;
  beforeAll(async () => {
    seeded = await seed(db());
  }, 60_000);

  it('arms in order, sizes, the counts by hand and by a direct count of raw rows', async () => {
    const report = (await experimentReport(db(), seeded.issue.issueId, { now: NOW }))!;
    expect(report.kind).toBe('ab_holdout');
    expect(report.arms.map((a) => [a.arm, a.name, a.subject])).toEqual([
      ['A', 'Variant A', 'Widgets for winter'],
      ['B', 'Variant B', 'Your widget, warmer'],
      ['rest', 'The rest', null],
      ['holdout', 'Held out', null],
    ]);
    before = figuresOf(report);
    expect(before).toEqual({
      size: { A: 4, B: 4, rest: 2, holdout: 2 },
      delivered: { A: 4, B: 4, rest: 2 },
      humanOpeners: { A: 3, B: 2, rest: 1 },
      clickers: { A: 3, B: 2, rest: 1 },
      visitors: { A: 2, B: 2, rest: 1 },
      laterVisits: { A: 1, B: 1 },
    });
    expect(before).toEqual(await directCounts(db(), seeded.issue.issueId));
    const a = report.arms[0]!;
    // Wilson 3 of 4: centre = (0.75 + 0.480182) / 1.960365 = 0.627527; half = 0.999796 × √(0.046875 + 0.060023) = 0.326885
    expect(a.clickers.rate).toBe(0.75);
    expect(a.clickers.low).toBeCloseTo(0.300642, 5);
    expect(a.clickers.high).toBeCloseTo(0.954413, 5);
    expect(report.arms[3]!.clickers).toEqual({ count: 0, rate: null, low: 0, high: 1 });
    expect(report.arms.map((x) => x.sentAt)).toEqual([SENT, SENT, REST_SENT, null]);
  });

  it('a scanner’s verdict re-labels a B click, its landing and later visit as a machine’s: B loses a clicker, a visitor and a later visit, still equal to raw rows', async () => {
    await sweep(db(), seeded, SENT);
    const report = (await experimentReport(db(), seeded.issue.issueId, { now: NOW }))!;
    before = figuresOf(report);
    expect(before.clickers).toEqual({ A: 3, B: 1, rest: 1 });
    expect(before.visitors).toEqual({ A: 2, B: 1, rest: 1 });
    expect(before.laterVisits).toEqual({ A: 1 });
    expect(before).toEqual(await directCounts(db(), seeded.issue.issueId));
    // The comparison the winner rule makes: the best, A, against B on clickers: 3/4 − 1/4 = 0.5
    // (−0.135488 to 0.789083), within noise — the pair the sentence quotes.
    expect(report.differences).toHaveLength(1);
    expect(report.differences[0]).toMatchObject({ arm: 'A', against: 'B', difference: 0.5, quoted: true });
    expect(report.differences[0]!.low).toBeCloseTo(-0.135488, 5);
    expect(report.differences[0]!.high).toBeCloseTo(0.789083, 5);
    expect(report.decision?.kind).toBe('within_noise');
    expect(report.decision?.sentence).toBe(
      'Variant A brought 50.0 more clickers per 100 delivered (−13.5 to 78.9): within noise, so variant A, the first, goes to the rest.',
    );
    // The curve of A's clickers: one at +1 h, one at +2 h, one at +3 h, by hour since A's send.
    const clickCurve = report.arms[0]!.curves.find((c) => c.key === 'clickers')!;
    expect(clickCurve.points.slice(0, 4)).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    // The rest's curve starts at its own send, 4 hours later.
    expect(report.arms[2]!.curves.find((c) => c.key === 'clickers')!.points.slice(0, 2)).toEqual([
      [1, 0],
      [2, 1],
    ]);
  });

  it('pruning every raw row and erasing a subscriber change no figure', async () => {
    await pruneRawEvents(db(), NOW + 10_000 * DAY);
    expect(await db().selectFrom('clicks').select('id').execute()).toEqual([]);
    await eraseSubscriber(db(), seeded.arms.A[0]!.subscriberId, NOW);
    const report = (await experimentReport(db(), seeded.issue.issueId, { now: NOW }))!;
    expect(figuresOf(report)).toEqual(before);
  });

  it('the comparison row names the experiment and what went to the rest; the JSON carries every arm', async () => {
    const [row] = await compareIssues(db(), { now: NOW, issueIds: [seeded.issue.issueId] });
    expect(row!.experiment).toEqual({
      issueId: seeded.issue.issueId,
      holdoutShare: 0.2,
      state: 'finished',
      winnerArm: 'A',
      decidedHow: 'within_noise',
      variants: 2,
    });
    expect(experimentText(row!.experiment)).toBe('A/B test of 2 variants, 20 % held out');
    expect(winnerText(row!.experiment)).toBe('Variant A (within noise, the first)');
    const json = experimentJson((await experimentReport(db(), seeded.issue.issueId, { now: NOW }))!);
    expect(json.arms.map((a) => [a.arm, a.size, a.delivered, a.human_clickers.count])).toEqual([
      ['A', 4, 4, 3],
      ['B', 4, 4, 1],
      ['rest', 2, 2, 1],
      ['holdout', 2, 0, 0],
    ]);
    expect(json.difference_confidence).toBe(0.95);
  });

  it('an issue without an experiment has no experiment report', async () => {
    const other = await seedIssue(db(), 'http://127.0.0.1:4321', SENT);
    expect(await experimentReport(db(), other.issueId, { now: NOW })).toBeUndefined();
  });
});
