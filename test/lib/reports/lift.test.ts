import { describe, expect, it } from 'vitest';
import {
  bucketWindow,
  computeLift,
  countsFromBuckets,
  exactWindow,
  shiftByWeeks,
  type LiftInput,
} from '#lib/reports/lift.ts';

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

// Tuesday 24 November 2026, 09:00 UTC. Without a time zone, weeks back are 168 h apart:
// Tuesdays 17 Nov, 10 Nov, 3 Nov and 27 Oct at 09:00 UTC.
const sentAt = Date.UTC(2026, 10, 24, 9);
const weekStart = (weeksBack: number) => sentAt - weeksBack * WEEK;

/** A countIn over individual event times: how many of `events` fall in [from, to). */
function countEvents(events: [at: number, n: number][]): LiftInput['countIn'] {
  return (from, to) => events.reduce((sum, [at, n]) => (at >= from && at < to ? sum + n : sum), 0);
}

/** `observed` events an hour after the send, and `weeks[k - 1]` an hour into the window k weeks back. */
function weekly(observed: number, weeks: number[]): LiftInput['countIn'] {
  return countEvents([
    [sentAt + HOUR, observed],
    ...weeks.map((n, i): [number, number] => [weekStart(i + 1) + HOUR, n]),
  ]);
}

const lift = (overrides: Partial<LiftInput> & Pick<LiftInput, 'countIn'>) =>
  computeLift({ sentAt, horizonHours: 24, otherSendTimes: [], ...overrides });

describe('lift against the same hours of earlier weeks', () => {
  it('a clear lift: above the interval of normal variation, said in words with the interval', () => {
    // expected = (90 + 100 + 96 + 98) / 4 = 384 / 4 = 96
    // s² = (6² + 4² + 0² + 2²) / 3 = 56 / 3 = 18.7 ≤ 96, so no extra spread beyond Poisson
    // var = max(140, 96, 1) + 96 / 4 = 140 + 24 = 164; 1.96 × √164 = 1.96 × 12.806 = 25.100
    // lift = 140 − 96 = 44 → [18.900, 69.100]; relative = 44 / 96 = 0.4583
    const result = lift({ countIn: weekly(140, [90, 100, 96, 98]) });
    expect(result.observed).toBe(140);
    expect(result.expected).toBe(96);
    expect(result.lift).toBe(44);
    expect(result.low).toBeCloseTo(18.9, 2);
    expect(result.high).toBeCloseTo(69.1, 2);
    expect(result.relative).toBeCloseTo(0.4583, 4);
    expect(result.verdict).toBe('above');
    expect(result.weeksUsed).toEqual([1, 2, 3, 4]);
    expect(result.weeksExcluded).toEqual([]);
    expect(result.baseline.map((w) => [w.weeksBack, w.from, w.to, w.count])).toEqual([
      [1, Date.UTC(2026, 10, 17, 9), Date.UTC(2026, 10, 18, 9), 90],
      [2, Date.UTC(2026, 10, 10, 9), Date.UTC(2026, 10, 11, 9), 100],
      [3, Date.UTC(2026, 10, 3, 9), Date.UTC(2026, 10, 4, 9), 96],
      [4, Date.UTC(2026, 9, 27, 9), Date.UTC(2026, 9, 28, 9), 98],
    ]);
    expect(result.sentence).toBe(
      'In the 24 hours after the send (Tuesday 09:00 to Wednesday 09:00) there were 140 visits; a normal week has 96 in those hours ' +
        '(the average of the previous four weeks). That is 44 more (between 19 and 69 more), more than normal variation explains.',
    );
  });

  it('no lift: a difference inside the interval is called normal variation', () => {
    // expected 96 as above; var = 105 + 96 / 4 = 129; 1.96 × √129 = 1.96 × 11.358 = 22.261
    // lift = 9 → [−13.261, 31.261], which contains 0
    const result = lift({ countIn: weekly(105, [90, 100, 96, 98]) });
    expect(result.lift).toBe(9);
    expect(result.low).toBeCloseTo(-13.261, 2);
    expect(result.high).toBeCloseTo(31.261, 2);
    expect(result.verdict).toBe('noise');
    expect(result.sentence).toContain(
      'That is 9 more (between 13 fewer and 31 more), which is within normal variation.',
    );
  });

  it('a drop below normal', () => {
    // expected = (100 + 96 + 104 + 100) / 4 = 100; s² = (0 + 16 + 16 + 0) / 3 = 10.7 ≤ 100
    // var = max(50, 100, 1) + 100 / 4 = 125; 1.96 × √125 = 1.96 × 11.180 = 21.913
    // lift = −50 → [−71.913, −28.087]; relative = −0.5
    const result = lift({ countIn: weekly(50, [100, 96, 104, 100]) });
    expect(result.lift).toBe(-50);
    expect(result.low).toBeCloseTo(-71.913, 2);
    expect(result.high).toBeCloseTo(-28.087, 2);
    expect(result.relative).toBe(-0.5);
    expect(result.verdict).toBe('below');
    expect(result.sentence).toContain(
      'That is 50 fewer (between 28 and 72 fewer), a bigger drop than normal variation explains.',
    );
  });

  it('weeks that swing more than Poisson noise widen the interval: the same lift is then only noise', () => {
    // expected = (60 + 140 + 80 + 120) / 4 = 100
    // s² = (40² + 40² + 20² + 20²) / 3 = 4000 / 3 = 1333.33; extra = 1333.33 − 100 = 1233.33
    // var = 160 + 1233.33 + (100 + 1233.33) / 4 = 160 + 1233.33 + 333.33 = 1726.67; 1.96 × √1726.67 = 1.96 × 41.553 = 81.444
    // lift = 60 → [−21.444, 141.444]  (Poisson alone would say 60 ± 1.96 × √185 = 60 ± 26.7: "above")
    const result = lift({ countIn: weekly(160, [60, 140, 80, 120]) });
    expect(result.expected).toBe(100);
    expect(result.low).toBeCloseTo(-21.444, 2);
    expect(result.high).toBeCloseTo(141.444, 2);
    expect(result.verdict).toBe('noise');
  });
  it('two clean weeks that disagree widely are already evidence of spread', () => {
    // weeks 3 and 4 touched; left 60 and 140: expected 100, s² = (40² + 40²) / 1 = 3200, extra = 3100
    // var = 160 + 3100 + (100 + 3100) / 2 = 4860; 1.96 × √4860 = 1.96 × 69.714 = 136.640 → [−76.640, 196.640]
    const result = lift({
      countIn: weekly(160, [60, 140, 10, 10]),
      otherSendTimes: [weekStart(3) + HOUR, weekStart(4) + HOUR],
    });
    expect(result.weeksUsed).toEqual([1, 2]);
    expect(result.low).toBeCloseTo(-76.64, 2);
    expect(result.high).toBeCloseTo(196.64, 2);
    expect(result.verdict).toBe('noise');
  });
});

describe('weeks another send touched', () => {
  it('a week with another newsletter in the window is left out of the baseline and the sentence says so', () => {
    // Another issue went out Tuesday 10 Nov 15:00, inside week 2's window [10 Nov 09:00, 11 Nov 09:00): its 300 is not normal.
    // expected = (90 + 96 + 102) / 3 = 96; s² = (36 + 0 + 36) / 2 = 36 ≤ 96
    // var = 140 + 96 / 3 = 172; 1.96 × √172 = 1.96 × 13.115 = 25.705 → 44 ± 25.705 = [18.295, 69.705]
    const otherSend = Date.UTC(2026, 10, 10, 15);
    const result = lift({ countIn: weekly(140, [90, 300, 96, 102]), otherSendTimes: [otherSend] });
    expect(result.weeksUsed).toEqual([1, 3, 4]);
    expect(result.weeksExcluded).toEqual([
      {
        weeksBack: 2,
        reason: 'another-send',
        sendAt: otherSend,
        from: Date.UTC(2026, 10, 10, 9),
        to: Date.UTC(2026, 10, 11, 9),
      },
    ]);
    expect(result.expected).toBe(96);
    expect(result.low).toBeCloseTo(18.295, 2);
    expect(result.high).toBeCloseTo(69.705, 2);
    expect(result.verdict).toBe('above');
    expect(result.sentence).toBe(
      'In the 24 hours after the send (Tuesday 09:00 to Wednesday 09:00) there were 140 visits; a normal week has 96 in those hours ' +
        '(the average of three of the previous four weeks; one was skipped because another newsletter went out in those hours). ' +
        'That is 44 more (between 18 and 70 more), more than normal variation explains.',
    );
  });

  it('boundaries: a send whose 24 h ends as the window starts, or that goes out as it ends, does not touch it; one millisecond later it does', () => {
    const week3 = { from: weekStart(3), to: weekStart(3) + 24 * HOUR };
    const endsAsWeek3Starts = week3.from - 24 * HOUR; // its window [3 Nov 09:00 − 24 h, 3 Nov 09:00) stops where week 3 starts
    const goesOutAsWeek3Ends = week3.to; // 4 Nov 09:00: week 3's window is [.., 4 Nov 09:00)
    const overlapsWeek1ByOneMs = weekStart(1) - 24 * HOUR + 1; // its window ends at 17 Nov 09:00:00.001
    const result = lift({
      countIn: weekly(140, [90, 100, 96, 98]),
      otherSendTimes: [endsAsWeek3Starts, goesOutAsWeek3Ends, overlapsWeek1ByOneMs],
    });
    expect(result.weeksUsed).toEqual([2, 3, 4]);
    expect(result.weeksExcluded.map((w) => [w.weeksBack, w.reason, w.sendAt])).toEqual([
      [1, 'another-send', overlapsWeek1ByOneMs],
    ]);
    // (100 + 96 + 98) / 3 = 98
    expect(result.expected).toBe(98);
  });

  it('"touched" uses the horizon being measured: a send 48 h before the week-back window spoils the 72 h baseline, not the 24 h one', () => {
    const twoDaysBeforeWeek1 = weekStart(1) - 48 * HOUR; // Sunday 15 Nov 09:00
    const countIn = weekly(140, [90, 100, 96, 98]);
    // 24 h: [15 Nov 09:00, 16 Nov 09:00) ends a day before [17 Nov 09:00, 18 Nov 09:00)
    expect(lift({ countIn, otherSendTimes: [twoDaysBeforeWeek1] }).weeksUsed).toEqual([1, 2, 3, 4]);
    // 72 h: [15 Nov 09:00, 18 Nov 09:00) overlaps [17 Nov 09:00, 20 Nov 09:00)
    expect(lift({ countIn, otherSendTimes: [twoDaysBeforeWeek1], horizonHours: 72 }).weeksUsed).toEqual([2, 3, 4]);
  });

  it('every earlier week touched: no baseline and no made-up number', () => {
    const oneInEachWeek = [1, 2, 3, 4].map((k) => weekStart(k) + 2 * HOUR);
    const result = lift({ countIn: weekly(140, [90, 100, 96, 98]), otherSendTimes: oneInEachWeek });
    expect(result).toMatchObject({
      observed: 140,
      expected: null,
      lift: null,
      low: null,
      high: null,
      relative: null,
      verdict: 'no-baseline',
      weeksUsed: [],
    });
    expect(result.weeksExcluded.map((w) => w.weeksBack)).toEqual([1, 2, 3, 4]);
    expect(result.sentence).toBe(
      'In the 24 hours after the send (Tuesday 09:00 to Wednesday 09:00) there were 140 visits. There is no normal week to compare with ' +
        '(of the previous four weeks, four were skipped because another newsletter went out in those hours), so no lift can be given.',
    );
    expect(result.sentence).not.toMatch(/\b9[0-9]\b/);
  });

  it('weeks before records began are skipped like touched ones', () => {
    // Tracking started Thursday 5 Nov: weeks 3 (3 Nov) and 4 (27 Oct) have no data, not zero visits.
    // Week 1 also had another send. Left: week 2 alone → expected 100.
    const result = lift({
      countIn: weekly(140, [90, 100, 0, 0]),
      dataSince: Date.UTC(2026, 10, 5),
      otherSendTimes: [weekStart(1) + HOUR],
    });
    expect(result.weeksUsed).toEqual([2]);
    expect(result.weeksExcluded.map((w) => [w.weeksBack, w.reason])).toEqual([
      [1, 'another-send'],
      [3, 'before-data'],
      [4, 'before-data'],
    ]);
    expect(result.expected).toBe(100);
    expect(result.sentence).toContain(
      '(one of the previous four weeks; one was skipped because another newsletter went out in those hours and two were skipped because records had not begun)',
    );
  });

  it('another send inside the observed window is named, and this send in the list is ignored', () => {
    const twentyHoursLater = sentAt + 20 * HOUR;
    const result = lift({ countIn: weekly(140, [90, 100, 96, 98]), otherSendTimes: [sentAt, twentyHoursLater] });
    expect(result.weeksUsed).toEqual([1, 2, 3, 4]);
    expect(result.observedTouchedBy).toEqual([twentyHoursLater]);
    expect(result.sentence).toMatch(
      /Another newsletter went out within 24 hours of this one, so part of the difference may be its doing\.$/,
    );
    expect(
      lift({ countIn: weekly(140, [90, 100, 96, 98]), otherSendTimes: [sentAt + 24 * HOUR] }).observedTouchedBy,
    ).toEqual([]);
  });
});

describe('small and zero counts', () => {
  const calls = { one: 'phone call', other: 'phone calls' };

  it('nothing anywhere: "about the same", with an interval that does not go below zero', () => {
    // expected 0; var = max(0, 0, 1) = 1 → 0 ± 1.96; the low end is held at −(0 + 1.96 × √(0 / 4)) = 0
    const result = lift({ countIn: weekly(0, [0, 0, 0, 0]), noun: calls });
    expect(result).toMatchObject({ observed: 0, expected: 0, lift: 0, low: 0, relative: null, verdict: 'noise' });
    expect(result.high).toBeCloseTo(1.96, 5);
    expect(result.sentence).toBe(
      'In the 24 hours after the send (Tuesday 09:00 to Wednesday 09:00) there were no phone calls; a normal week has none in those hours ' +
        '(the average of the previous four weeks). That is about the same (between 0 and 2 more), which is within normal variation.',
    );
  });

  it('none observed against a steady 10 is a real drop (a zero count is not treated as noiseless)', () => {
    // expected 10, s² = 0; var = max(0, 10, 1) + 10 / 4 = 12.5; 1.96 × √12.5 = 1.96 × 3.5355 = 6.930
    // lift = −10 → [−16.930, −3.070], but the low end stops at minus the highest plausible baseline:
    // −(10 + 1.96 × √(10 / 4)) = −(10 + 1.96 × 1.5811) = −13.099 → [−13.099, −3.070]
    const result = lift({ countIn: weekly(0, [10, 10, 10, 10]), noun: calls });
    expect(result.low).toBeCloseTo(-13.099, 2);
    expect(result.high).toBeCloseTo(-3.07, 2);
    expect(result.verdict).toBe('below');
    expect(result.sentence).toContain('there were no phone calls; a normal week has 10 in those hours');
    expect(result.sentence).toContain(
      'That is 10 fewer (between 3.1 and 13 fewer), a bigger drop than normal variation explains.',
    );
  });

  it('a single clean week with a handful of calls', () => {
    // only week 1 (3 calls) is clean; var = max(7, 3, 1) + 3 / 1 = 10; 1.96 × √10 = 6.198
    // lift = 4 → [−2.198, 10.198]
    const others = [2, 3, 4].map((k) => weekStart(k) + HOUR);
    const result = lift({ countIn: weekly(7, [3, 50, 50, 50]), otherSendTimes: others, noun: calls });
    expect(result.expected).toBe(3);
    expect(result.low).toBeCloseTo(-2.198, 2);
    expect(result.high).toBeCloseTo(10.198, 2);
    expect(result.verdict).toBe('noise');
    expect(result.sentence).toContain(
      'there were 7 phone calls; a normal week has 3 in those hours (one of the previous four weeks; three were skipped',
    );
    expect(result.sentence).toContain(
      'That is 4 more (between 2.2 fewer and 10 more), which is within normal variation.',
    );
  });

  it('one event reads in the singular', () => {
    expect(lift({ countIn: weekly(1, [1, 1, 1, 1]), noun: calls }).sentence).toContain(
      'there was 1 phone call; a normal week has 1 in those hours',
    );
  });
});

describe('weeks back are calendar weeks in the site’s time zone', () => {
  const london = 'Europe/London';

  it('a week after the clocks went forward, the week-back window is 167 elapsed hours earlier, at the same wall-clock hours', () => {
    // Tuesday 31 March 2026 09:00 BST (08:00 UTC); the clocks went forward on Sunday 29 March.
    const sentAtBst = Date.UTC(2026, 2, 31, 8);
    // Tuesday 24 March 09:00 GMT is 09:00 UTC: 167 h before the send, not 168.
    const week1 = { from: Date.UTC(2026, 2, 24, 9), to: Date.UTC(2026, 2, 25, 9) };
    expect(sentAtBst - week1.from).toBe(167 * HOUR);
    const countIn = countEvents([
      [sentAtBst + HOUR, 20], // Tuesday 10:00 BST
      [Date.UTC(2026, 2, 24, 8, 30), 50], // Tuesday 24 March 08:30 GMT: before the same hours (a 168 h shift would count it)
      [Date.UTC(2026, 2, 25, 8, 30), 20], // Wednesday 25 March 08:30 GMT: inside them (a 168 h shift would miss it)
      [Date.UTC(2026, 2, 17, 10), 20],
      [Date.UTC(2026, 2, 10, 10), 20],
      [Date.UTC(2026, 2, 3, 10), 20],
    ]);
    const result = computeLift({ sentAt: sentAtBst, horizonHours: 24, otherSendTimes: [], countIn, timeZone: london });
    expect(result.baseline.map((w) => [w.weeksBack, w.from, w.to, w.count])).toEqual([
      [1, week1.from, week1.to, 20],
      [2, Date.UTC(2026, 2, 17, 9), Date.UTC(2026, 2, 18, 9), 20],
      [3, Date.UTC(2026, 2, 10, 9), Date.UTC(2026, 2, 11, 9), 20],
      [4, Date.UTC(2026, 2, 3, 9), Date.UTC(2026, 2, 4, 9), 20],
    ]);
    // (20 + 20 + 20 + 20) / 4 = 20; with 168 h shifts it would be (50 + 20 + 20 + 20) / 4 = 27.5
    expect(result.expected).toBe(20);
    expect(result.lift).toBe(0);
    expect(result.sentence).toContain('(Tuesday 09:00 to Wednesday 09:00)');

    // "Touched" is judged against the zoned window too: a send on Monday 23 March 08:30 UTC has its 24 h end at
    // 08:30 on the 24th, before week 1 starts at 09:00 (a 168 h shift, starting 08:00, would call week 1 touched).
    expect(
      computeLift({
        sentAt: sentAtBst,
        horizonHours: 24,
        otherSendTimes: [Date.UTC(2026, 2, 23, 8, 30)],
        countIn,
        timeZone: london,
      }).weeksUsed,
    ).toEqual([1, 2, 3, 4]);
  });

  it('a week after the clocks went back in New York, the week-back window is 169 hours earlier', () => {
    // Tuesday 3 Nov 2026 09:00 EST = 14:00 UTC; Tuesday 27 Oct 09:00 EDT = 13:00 UTC
    const result = computeLift({
      sentAt: Date.UTC(2026, 10, 3, 14),
      horizonHours: 24,
      otherSendTimes: [],
      countIn: () => 0,
      timeZone: 'America/New_York',
      weeks: 1,
    });
    expect(result.baseline[0]).toMatchObject({ from: Date.UTC(2026, 9, 27, 13), to: Date.UTC(2026, 9, 28, 13) });
  });

  it('a week-back window that spans the clock change covers the same wall-clock hours, so 23 h', () => {
    // Saturday 4 April 09:00 BST → Sunday 5 April 09:00 BST; a week earlier Saturday 28 March 09:00 GMT → Sunday 29 March 09:00 BST
    const result = computeLift({
      sentAt: Date.UTC(2026, 3, 4, 8),
      horizonHours: 24,
      otherSendTimes: [],
      countIn: () => 0,
      timeZone: london,
      weeks: 1,
    });
    expect(result.baseline[0]).toMatchObject({ from: Date.UTC(2026, 2, 28, 9), to: Date.UTC(2026, 2, 29, 8) });
    expect(result.baseline[0]!.to - result.baseline[0]!.from).toBe(23 * HOUR);
  });

  it('a wall time the clocks skipped maps to the same instant on the old offset; without a zone weeks are 168 h', () => {
    // Sunday 5 April 01:30 BST; on 29 March 01:30 never happened in London: 01:30 GMT = 02:30 BST
    expect(shiftByWeeks(Date.UTC(2026, 3, 5, 0, 30), 1, london)).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(shiftByWeeks(Date.UTC(2026, 2, 31, 8), 1, 'UTC')).toBe(Date.UTC(2026, 2, 24, 8));
    expect(shiftByWeeks(Date.UTC(2026, 2, 31, 8), -1, london)).toBe(Date.UTC(2026, 3, 7, 8));
  });
});

describe('while the window is still open', () => {
  it('compares the hours so far with the same hours of earlier weeks', () => {
    // 10 hours in: [Tue 09:00, Tue 19:00). The 100 events 12 h into each earlier week are outside those hours.
    // expected 40; var = 60 + 40 / 4 = 70; 1.96 × √70 = 1.96 × 8.3666 = 16.398 → 20 ± 16.398 = [3.602, 36.398]
    const events: [number, number][] = [[sentAt + HOUR, 60]];
    for (const k of [1, 2, 3, 4]) events.push([weekStart(k) + HOUR, 40], [weekStart(k) + 12 * HOUR, 100]);
    const result = lift({ countIn: countEvents(events), now: sentAt + 10 * HOUR });
    expect(result).toMatchObject({
      windowComplete: false,
      to: sentAt + 10 * HOUR,
      observed: 60,
      expected: 40,
      verdict: 'above',
    });
    expect(result.baseline[0]).toMatchObject({ from: weekStart(1), to: weekStart(1) + 10 * HOUR });
    expect(result.low).toBeCloseTo(3.602, 2);
    expect(result.sentence).toBe(
      'In the 10 hours since the send (Tuesday 09:00 to 19:00; the 24-hour window is still open) there were 60 visits; a normal week has 40 in those hours ' +
        '(the average of the previous four weeks). That is 20 more (between 3.6 and 36 more), more than normal variation explains.',
    );
    expect(lift({ countIn: countEvents(events), now: sentAt + 30 * HOUR }).windowComplete).toBe(true);
  });
});

describe('the first minutes after a send', () => {
  // Tuesday 24 November 2026: the send at 04:54, counts kept per quarter-hour, now 04:58.
  const at = (h: number, m: number, day = 24) => Date.UTC(2026, 10, day, h, m);
  const send = at(4, 54);
  const now = at(4, 58);
  // 4 visits since the send (in the 04:45 bucket, still running); 3 in the 04:45 bucket of each earlier week.
  const buckets: [number, number][] = [
    [at(4, 45), 4],
    ...[1, 2, 3, 4].map((k): [number, number] => [at(4, 45) - k * WEEK, 3]),
  ];
  const early = () =>
    computeLift({
      sentAt: send,
      countFrom: at(4, 45),
      horizonHours: 24,
      otherSendTimes: [],
      countIn: countsFromBuckets(buckets, { now }),
      now,
    });

  it('counts what happened up to now, the quarter-hour still running included, and says so from the send', () => {
    const result = early();
    expect(result).toMatchObject({ sentAt: send, from: at(4, 45), to: now, windowComplete: false, observed: 4 });
    // Each earlier week: 13 of the 15 minutes of its 04:45 bucket → 3 × 13/15 = 2.6
    expect(result.expected).toBeCloseTo(2.6, 9);
    expect(result.baseline.map((w) => w.count)).toEqual([2.6, 2.6, 2.6, 2.6].map((n) => expect.closeTo(n, 9)));
    expect(result.sentence).toMatch(
      /^In the 4 minutes since the send \(Tuesday 04:54 to 04:58; the 24-hour window is still open\) there were 4 visits; a normal week has 2\.6 in those minutes /,
    );
    expect(result.sentence).not.toMatch(/04:45|no visits|hours? since/);
  });

  it('in the first minute it still speaks of the send, not of hours', () => {
    const result = computeLift({
      sentAt: send,
      countFrom: at(4, 45),
      horizonHours: 24,
      otherSendTimes: [],
      countIn: countsFromBuckets(buckets, { now: send + 20_000 }),
      now: send + 20_000,
    });
    expect(result.observed).toBe(4);
    expect(result.sentence).toMatch(
      /^In the first minute after the send \(Tuesday 04:54, moments ago; the 24-hour window is still open\) there were 4 visits/,
    );
  });

  it('a count start after the send is refused', () => {
    expect(() =>
      computeLift({ sentAt: send, countFrom: send + 1, horizonHours: 24, otherSendTimes: [], countIn: () => 0 }),
    ).toThrow(/countFrom/);
  });
});

describe('bad input', () => {
  const countIn = weekly(1, [1, 1, 1, 1]);
  it.each([
    ['a zero horizon', { horizonHours: 0 }, /horizonHours/],
    ['a horizon over six days', { horizonHours: 145 }, /horizonHours/],
    ['a horizon that is not a number', { horizonHours: Number.NaN }, /horizonHours/],
    ['zero weeks', { weeks: 0 }, /weeks/],
    ['a fraction of a week', { weeks: 2.5 }, /weeks/],
    ['no send time', { sentAt: Number.NaN }, /sentAt/],
    ['now before the send', { now: sentAt - 1 }, /now must be after sentAt/],
    ['a send time that is not a number', { otherSendTimes: [Number.NaN] }, /otherSendTimes/],
  ])('refuses %s', (_, overrides, message) => {
    expect(() => lift({ countIn, ...overrides })).toThrow(message);
  });

  it('refuses a negative or missing count from countIn', () => {
    expect(() => lift({ countIn: () => -1 })).toThrow(/returned -1/);
    expect(() => lift({ countIn: () => Number.NaN })).toThrow(/returned NaN/);
  });
});

describe('countIn from 15-minute buckets', () => {
  const at = (h: number, m: number, day = 24) => Date.UTC(2026, 10, day, h, m);
  // bucket starts aligned to 15 minutes since the epoch, as in report_counts; given out of order
  const countIn = countsFromBuckets([
    [at(9, 0, 25), 100],
    [at(8, 45), 5],
    [at(9, 0), 7],
    [at(9, 15), 1],
    [at(8, 45, 25), 2],
  ]);

  it('a window counts the whole buckets from the one holding its start to the one holding its end, exclusive', () => {
    // [09:00, next day 09:00) → buckets starting 09:00 … next day 08:45: 7 + 1 + 2 = 10
    expect(countIn(at(9, 0), at(9, 0, 25))).toBe(10);
    expect(countIn(at(9, 7), at(9, 0, 25))).toBe(10);
    expect(countIn(at(9, 0), at(9, 15))).toBe(7);
    expect(countIn(at(9, 0), at(9, 0))).toBe(0);
    expect(countIn(at(0, 0, 1), at(0, 0, 2))).toBe(0);
    expect(countsFromBuckets([])(0, Date.UTC(2030, 0, 1))).toBe(0);
  });

  it('a window ending inside a bucket takes the share of it before the end; ending now, the running bucket in full', () => {
    // [09:00, next day 09:06): the 10 above and 6/15 of the next day's 09:00 bucket (100) = 10 + 40
    expect(countIn(at(9, 0), at(9, 6, 25))).toBeCloseTo(50, 9);
    // At 09:06 now, the 09:00 bucket holds what happened in the six minutes so far: all of it counts.
    const live = countsFromBuckets(
      [
        [at(8, 45), 5],
        [at(9, 0), 7],
      ],
      { now: at(9, 6) },
    );
    expect(live(at(8, 45), at(9, 6))).toBe(12);
    expect(live(at(8, 45) - 7 * 24 * HOUR, at(9, 6) - 7 * 24 * HOUR)).toBe(0);
    expect(bucketWindow(at(8, 52), at(9, 6), { now: at(9, 6) })).toEqual({
      whole: [at(8, 45), at(9, 0)],
      part: { from: at(9, 0), to: at(9, 15), share: 1 },
    });
    expect(bucketWindow(at(8, 52), at(9, 6))).toEqual({
      whole: [at(8, 45), at(9, 0)],
      part: { from: at(9, 0), to: at(9, 15), share: 0.4 },
    });
  });

  it('feeds computeLift', () => {
    const buckets: [number, number][] = [[sentAt, 140]];
    [90, 100, 96, 98].forEach((n, i) => buckets.push([weekStart(i + 1) + 15 * 60_000, n]));
    const result = lift({ countIn: countsFromBuckets(buckets) });
    expect([result.observed, result.expected, result.verdict]).toEqual([140, 96, 'above']);
  });
});

describe('a window read to the minute', () => {
  const t = (minute: number, second = 0) => Date.UTC(2026, 10, 24, 4, 0) + minute * 60_000 + second * 1000;
  it('whole quarter-hours inside it, whole minutes at each edge; the minute holding its end counts in full', () => {
    expect(exactWindow(t(52), t(58))).toEqual({ buckets: null, minutes: [[t(52), t(58)]] });
    expect(exactWindow(t(52, 30), t(57, 10))).toEqual({ buckets: null, minutes: [[t(52), t(58)]] });
    expect(exactWindow(t(52), t(97))).toEqual({
      buckets: [t(60), t(90)],
      minutes: [
        [t(52), t(60)],
        [t(90), t(97)],
      ],
    });
    expect(exactWindow(t(45), t(90))).toEqual({ buckets: [t(45), t(90)], minutes: [] });
    expect(exactWindow(t(52), t(60))).toEqual({ buckets: null, minutes: [[t(52), t(60)]] });
    expect(exactWindow(t(52), t(52))).toEqual({ buckets: null, minutes: [] });
  });
});
