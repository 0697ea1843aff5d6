import { describe, expect, it } from 'vitest';
import { weeklyRun } from '../../../src/demo/rhythms.ts';
import { computeLift } from '#lib/reports/lift.ts';
import { everyWeekHadASend } from '#lib/reports/regular-cadence.ts';

const TZ = 'Europe/London';
const DAY = 86_400_000;
const utc = (month: number, day: number, hour: number, minute = 0) => Date.UTC(2026, month - 1, day, hour, minute);

describe('the demo’s weekly run', () => {
  // Tuesday 13 October 2026, 09:30 in London (BST, 08:30 UTC); the clocks go back on Sunday 25 October.
  // The issue before the run went out six days before it, as the demo's spread-out issues do.
  const times = [
    utc(9, 1, 9),
    utc(10, 7, 8, 30),
    utc(10, 13, 8, 30),
    utc(10, 21, 9, 15),
    utc(10, 29, 9),
    utc(11, 6, 9),
  ];
  const end = utc(11, 12, 12);

  it('the last issues go out a calendar week apart, same weekday and wall-clock time, across the clock change', () => {
    expect(weeklyRun(times, 4, end, TZ)).toEqual([
      utc(9, 1, 9),
      utc(10, 7, 8, 30),
      utc(10, 13, 8, 30), // Tuesday 09:30 BST
      utc(10, 20, 8, 30), // Tuesday 09:30 BST
      utc(10, 27, 9, 30), // Tuesday 09:30 GMT: 169 hours later
      utc(11, 3, 9, 30), // Tuesday 09:30 GMT
    ]);
  });

  it('a run that would end within a day of the end keeps that issue’s own time; a run of one changes nothing', () => {
    expect(weeklyRun(times, 4, utc(11, 4, 9), TZ).at(-1)).toBe(utc(11, 6, 9));
    expect(weeklyRun(times, 1, end, TZ)).toEqual(times);
    expect(weeklyRun(times.slice(0, 2), 4, end, TZ)).toEqual(times.slice(0, 2));
  });

  it('so the run’s last issue has no clean earlier week for a 72-hour lift: the report says why and what can answer', () => {
    const sends = weeklyRun(times, 4, end, TZ);
    const sentAt = sends.at(-1)!;
    const lift = computeLift({
      sentAt,
      horizonHours: 72,
      otherSendTimes: sends.slice(0, -1),
      countIn: () => 0,
      timeZone: TZ,
      now: sentAt + 4 * DAY,
    });
    expect(lift.verdict).toBe('no-baseline');
    expect(lift.weeksExcluded.map((w) => w.reason)).toEqual([
      'another-send',
      'another-send',
      'another-send',
      'another-send',
    ]);
    expect(everyWeekHadASend(lift)).toBe(true);
  });
});
