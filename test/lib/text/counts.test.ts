import { describe, expect, it } from 'vitest';
import { countOf, durationOf, nounFor } from '#lib/text/counts.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('numbers with their nouns', () => {
  it('one takes the singular, every other number the plural, as printed', () => {
    expect([0, 1, 2, 1234].map((n) => countOf(n, 'signup'))).toEqual([
      '0 signups',
      '1 signup',
      '2 signups',
      '1,234 signups',
    ]);
    expect(countOf(1, { one: 'person', other: 'people' })).toBe('1 person');
    expect(countOf(3, { one: 'person', other: 'people' })).toBe('3 people');
    // As printed: 1.04 with no decimals reads "1", so singular; 1.5 hours is plural.
    expect(countOf(1.04, 'hour')).toBe('1 hour');
    expect(countOf(1.5, 'hour', 1)).toBe('1.5 hours');
    expect(countOf(0.96, 'call', 1)).toBe('1 call');
    expect(nounFor(1, 'walk-in')).toBe('walk-in');
    expect(nounFor(2, 'walk-in')).toBe('walk-ins');
  });
});

describe('spans of time in words', () => {
  it('never rounds up past what happened: 4 minutes is not "1 hours"', () => {
    expect(durationOf(20_000)).toBe('less than a minute');
    expect(durationOf(4 * MINUTE + 59_000)).toBe('4 minutes');
    expect(durationOf(MINUTE)).toBe('1 minute');
    expect(durationOf(59 * MINUTE + 59_000)).toBe('59 minutes');
    expect(durationOf(HOUR)).toBe('1 hour');
    expect(durationOf(HOUR + MINUTE)).toBe('1 hour 1 minute');
    expect(durationOf(2 * HOUR + 5 * MINUTE)).toBe('2 hours 5 minutes');
    expect(durationOf(11 * HOUR + 30 * MINUTE)).toBe('11 hours');
    expect(durationOf(47 * HOUR + 59 * MINUTE)).toBe('47 hours');
    expect(durationOf(2 * DAY)).toBe('2 days');
    expect(durationOf(3 * DAY + 22 * HOUR + 59 * MINUTE)).toBe('3 days 22 hours');
    expect(durationOf(Number.NaN)).toBe('less than a minute');
  });
});
