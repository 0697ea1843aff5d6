import { describe, expect, it } from 'vitest';
import { computeLift, type LiftInput } from '#lib/reports/lift.ts';
import { alternatingWeeksNeeded, everyWeekHadASend, regularCadenceAdvice } from '#lib/reports/regular-cadence.ts';
import { cadenceAdviceFor, type ExperimentReport } from '#lib/reports/experiment-report.service.ts';
import { outcomeResult } from '#lib/reports/holdout-result.service.ts';
import type { IssueReport } from '#lib/reports/issue-report.service.ts';

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;
// Tuesday 24 November 2026, 10:00 UTC; the newsletter went out at the same hour every Tuesday before.
const sentAt = Date.UTC(2026, 10, 24, 10);
const now = sentAt + 4 * 24 * HOUR;
const everyTuesday = [1, 2, 3, 4].map((k) => sentAt - k * WEEK);

/** 140 visits an hour after this send, 90–100 in each earlier week's window. */
const countIn: LiftInput['countIn'] = (from, to) => {
  const events: [number, number][] = [
    [sentAt + HOUR, 140],
    ...[90, 100, 96, 98].map((n, i): [number, number] => [sentAt - (i + 1) * WEEK + HOUR, n]),
  ];
  return events.reduce((sum, [at, n]) => (at >= from && at < to ? sum + n : sum), 0);
};

const weeklyLift = computeLift({ sentAt, horizonHours: 72, otherSendTimes: everyTuesday, countIn, now });
const cleanLift = computeLift({ sentAt, horizonHours: 72, otherSendTimes: [], countIn, now });

describe('weeks needed with skipped weeks or alternating days', () => {
  it('Poisson weekly counts, half the weeks without a send (hand-computed)', () => {
    // K = (1.959964 + 0.841621)² = 7.848880
    // μ = 100, Δ = 20: 7.848880 × (100 + 20 + 100) / 20² = 7.848880 × 220 / 400 = 4.3169 → 5 a side → 10 weeks
    expect(alternatingWeeksNeeded(100, 20)).toBe(10);
    // μ = 50, Δ = 5: 7.848880 × 105 / 25 = 32.965 → 33 → 66 weeks
    expect(alternatingWeeksNeeded(50, 5)).toBe(66);
    // μ = 0, Δ = 100: 7.848880 × 100 / 10,000 = 0.078 → at least 1 a side → 2 weeks
    expect(alternatingWeeksNeeded(0, 100)).toBe(2);
  });

  it('nothing observed: no estimate', () => {
    expect(alternatingWeeksNeeded(100, 0)).toBeNull();
  });
});

describe('“More than usual?” for a weekly newsletter', () => {
  it('a clean earlier week: the lift answers, no advice', () => {
    expect(cleanLift.verdict).toBe('above');
    expect(everyWeekHadASend(cleanLift)).toBe(false);
    expect(
      regularCadenceAdvice({
        lift: cleanLift,
        attributedVisits: 20,
        delivered: 1000,
        uniqueVisitors: 50,
        holdout: null,
      }),
    ).toBeNull();
  });

  it('every earlier week had a send: explains why, offers what can answer with the weeks needed', () => {
    expect(weeklyLift.verdict).toBe('no-baseline');
    expect(everyWeekHadASend(weeklyLift)).toBe(true);
    const advice = regularCadenceAdvice({
      lift: weeklyLift,
      attributedVisits: 20,
      delivered: 1000,
      uniqueVisitors: 50,
      holdout: null,
    })!;
    expect(advice.explanation).toBe(
      'Every one of the previous 4 weeks had a newsletter in these hours, so there is no week without a send to compare with. ' +
        'Comparing with those weeks could not tell what this send added from what this weekday and hour bring anyway: every week had both.',
    );
    expect(advice.holdout).toBeNull();
    // Holdout (no result yet): d = 50 / 1000 = 0.05, p₀ taken as 0, 900 and 100 a week:
    //   7.848880 × (0.05 × 0.95 / 900 + 0) / 0.05² = 0.1657 → 1 week, "at least"
    // Skipped weeks: observed 140, Δ = 20 (the issue's visits), μ = 120:
    //   7.848880 × (120 + 20 + 120) / 400 = 5.1018 → 6 a side → 12 weeks
    expect(advice.options).toEqual([
      {
        key: 'holdout',
        text: 'Hold out 10 % of the audience at random each week: they get nothing, and their visits are compared with the recipients’ (at least 1 week).',
        weeks: 1,
      },
      {
        key: 'skipped_week',
        text: 'Skip the send every other week, so half the weeks are without it in these hours (12 weeks).',
        weeks: 12,
      },
      {
        key: 'alternate_days',
        text: 'Alternate between two send days, so each day’s hours are without a send every other week (12 weeks).',
        weeks: 12,
      },
    ]);
  });

  it('with a holdout: its result, and the weeks from its own rates', () => {
    // 270 of 900 recipients visited, 20 of 100 held out: 100 more per 1,000 (6.5 to 173.4), see statistics.test.ts
    // weeks: p₁ = 0.3, p₀ = 0.2, d = 0.1; 7.848880 × (0.3 × 0.7 / 900 + 0.2 × 0.8 / 100) / 0.01
    //      = 7.848880 × 0.00183333 / 0.01 = 1.439 → 2 weeks
    const advice = regularCadenceAdvice({
      lift: weeklyLift,
      attributedVisits: 20,
      delivered: 1000,
      uniqueVisitors: 50,
      holdout: { treated: { successes: 270, n: 900 }, heldOut: { successes: 20, n: 100 } },
    })!;
    expect(advice.holdout?.sentence).toBe(
      'Against the held-out group, the send brought 100 more visitors per 1,000 recipients (6.5 to 173.4).',
    );
    expect(advice.options[0]).toEqual({
      key: 'holdout',
      text: 'Hold out 10 % of the audience at random each week: they get nothing, and their visits are compared with the recipients’ (2 weeks).',
      weeks: 2,
    });
  });

  it('nothing came through the issue yet: the options stand, without an estimate', () => {
    const advice = regularCadenceAdvice({
      lift: weeklyLift,
      attributedVisits: 0,
      delivered: 1000,
      uniqueVisitors: 0,
      holdout: null,
    })!;
    expect(advice.options.map((o) => o.weeks)).toEqual([null, null, null]);
    expect(advice.options[1]!.text).toContain('(no estimate yet: nothing has come through the issue to size it)');
  });
});

describe('the report’s cadence section takes the experiment’s holdout result', () => {
  const report = {
    lift: [{ metric: 'visit', h72: weeklyLift }],
    issue: { attributedVisits: 20, delivered: 1000, uniqueVisitors: 50 },
  } as unknown as IssueReport;

  it('with a holdout result on visits: its effect and sentence; the holdout option sized from it', () => {
    const experiment = {
      holdoutShare: 0.1,
      holdoutResult: {
        visits: outcomeResult('visits', [
          { arm: 'rest', size: 900, identifiable: 900, people: 270 },
          { arm: 'holdout', size: 100, identifiable: 100, people: 20 },
        ]),
      },
    } as unknown as ExperimentReport;
    const advice = cadenceAdviceFor(report, experiment)!;
    expect(advice.holdout?.sentence).toBe(
      'Against the held-out group, the send brought 100 more visitors per 1,000 recipients (6.5 to 173.4).',
    );
    expect(advice.options[0]!.weeks).toBe(2);
  });

  it('without an experiment, or with nobody identifiable in the held out: no holdout result', () => {
    expect(cadenceAdviceFor(report)!.holdout).toBeNull();
    const none = {
      holdoutShare: 0.1,
      holdoutResult: {
        visits: outcomeResult('visits', [
          { arm: 'rest', size: 900, identifiable: 10, people: 2 },
          { arm: 'holdout', size: 100, identifiable: 0, people: 0 },
        ]),
      },
    } as unknown as ExperimentReport;
    expect(cadenceAdviceFor(report, none)!.holdout).toBeNull();
  });
});
