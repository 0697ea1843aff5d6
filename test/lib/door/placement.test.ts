import { describe, expect, it } from 'vitest';
import {
  countedBuckets,
  placeInterval,
  shareByLargestRemainder,
  type WeekHours,
} from '../../../src/lib/door/placement.ts';

const Q = 15 * 60_000;
const H = 4 * Q;
const t = (iso: string) => Date.parse(iso);
const sum = (xs: { n: number }[]) => xs.reduce((a, b) => a + b.n, 0);

describe('shareByLargestRemainder', () => {
  it('keeps the total exactly and gives leftovers to the largest remainders, earlier first on ties', () => {
    expect(shareByLargestRemainder(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(shareByLargestRemainder(2, [1, 1, 1])).toEqual([1, 1, 0]);
    expect(shareByLargestRemainder(7, [1, 2, 4])).toEqual([1, 2, 4]);
    expect(shareByLargestRemainder(5, [1, 3])).toEqual([1, 4]); // 1.25 / 3.75: the .75 wins
    expect(shareByLargestRemainder(0, [5, 5])).toEqual([0, 0]);
    for (let n = 0; n < 60; n++) expect(shareByLargestRemainder(n, [7, 13, 1, 29]).reduce((a, b) => a + b)).toBe(n);
  });
});

describe('placeInterval', () => {
  const at = t('2026-11-26T14:00:00Z');

  it('an interval inside one bucket, and one that is exactly a bucket, put everything there', () => {
    expect(placeInterval(at + 60_000, at + 5 * 60_000, 9)).toEqual([{ bucket: at, n: 9 }]);
    expect(placeInterval(at, at + Q, 9)).toEqual([{ bucket: at, n: 9 }]);
  });

  it('an interval ending on a bucket edge puts nothing in the next bucket; one starting on it nothing in the one before', () => {
    const placed = placeInterval(at, at + 2 * Q, 3);
    expect(placed.map((p) => p.bucket)).toEqual([at, at + Q]);
    expect(sum(placed)).toBe(3);
    expect(placed).toEqual([
      { bucket: at, n: 2 },
      { bucket: at + Q, n: 1 },
    ]);
  });

  it('an hour over four buckets: 10 people → 3, 3, 2, 2', () => {
    expect(placeInterval(at, at + H, 10).map((p) => p.n)).toEqual([3, 3, 2, 2]);
  });

  it('an interval crossing bucket edges is shared by overlap: 14:10–14:40 with 6 people → 1, 3, 2', () => {
    const placed = placeInterval(at + 10 * 60_000, at + 40 * 60_000, 6);
    expect(placed).toEqual([
      { bucket: at, n: 1 },
      { bucket: at + Q, n: 3 },
      { bucket: at + 2 * Q, n: 2 },
    ]);
  });

  it('across the night London’s clocks go back, the repeated hour is real time: 00:00–03:00 local is four elapsed hours', () => {
    // 2026-10-25: BST ends at 02:00 BST (01:00 UTC); 00:00 BST = 23:00 UTC, 03:00 GMT = 03:00 UTC.
    const from = t('2026-10-24T23:00:00Z');
    const to = t('2026-10-25T03:00:00Z');
    const placed = placeInterval(from, to, 16);
    expect(placed).toHaveLength(16);
    expect(placed.every((p) => p.n === 1)).toBe(true);
    expect(sum(placed)).toBe(16);
  });

  it('across the night the clocks go forward, 00:00–03:00 local is two elapsed hours', () => {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 00:00 GMT = 00:00 UTC, 03:00 BST = 02:00 UTC.
    const placed = placeInterval(t('2026-03-29T00:00:00Z'), t('2026-03-29T02:00:00Z'), 16);
    expect(placed.map((p) => p.n)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
  });
});

describe('countedBuckets: the staff rule', () => {
  const zone = 'Europe/London';
  // Monday 2026-11-23, GMT.
  const monday = t('2026-11-23T00:00:00Z');
  const rows = [
    { from: monday + 7 * H, to: monday + 8 * H, countIn: 8, countOut: 4 }, // 07:00–08:00, before opening
    { from: monday + 9 * H, to: monday + 10 * H, countIn: 12, countOut: 10 },
    { from: monday + 18 * H, to: monday + 18 * H + Q, countIn: 3, countOut: null }, // after closing
  ];
  const nineToFive: WeekHours = [[540, 1020], [540, 1020], [540, 1020], [540, 1020], [540, 1020], [600, 960], null];
  const total = (buckets: { in: number }[]) => buckets.reduce((a, b) => a + b.in, 0);

  it('no rule: everything counts, minutes sum to each bucket', () => {
    const buckets = countedBuckets(rows, { staffPerDay: 0, openingHours: null }, zone);
    expect(total(buckets)).toBe(23);
    for (const b of buckets) expect([...b.minutes.values()].reduce((a, c) => a + c, 0)).toBe(b.in);
  });

  it('opening hours drop the buckets outside them (site time)', () => {
    const buckets = countedBuckets(rows, { staffPerDay: 0, openingHours: nineToFive }, zone);
    expect(total(buckets)).toBe(12);
    expect(buckets.reduce((a, b) => a + b.out, 0)).toBe(10);
  });

  it('staff per day takes the day’s first people in and out, in time order', () => {
    const buckets = countedBuckets(rows, { staffPerDay: 5, openingHours: nineToFive }, zone);
    expect(total(buckets)).toBe(7);
    expect(buckets.reduce((a, b) => a + b.out, 0)).toBe(5);
    // The 09:00 bucket (3 in) is emptied first, then 2 of the 09:15 bucket's 3.
    expect(buckets[0]).toMatchObject({ bucket: monday + 9 * H + Q, in: 1 });
  });

  it('a day is the site’s day: in New York, 03:00 UTC on Tuesday is Monday evening', () => {
    const late = [{ from: t('2026-11-24T03:00:00Z'), to: t('2026-11-24T03:15:00Z'), countIn: 4, countOut: null }];
    const withMonday = [
      ...late,
      { from: t('2026-11-23T15:00:00Z'), to: t('2026-11-23T15:15:00Z'), countIn: 4, countOut: null },
    ];
    const rule = { staffPerDay: 4, openingHours: null };
    expect(total(countedBuckets(withMonday, rule, 'America/New_York'))).toBe(4);
    expect(total(countedBuckets(withMonday, rule, 'UTC'))).toBe(0);
  });
});

describe('countedBuckets across the clock changes (Europe/London)', () => {
  const zone = 'Europe/London';
  const sundayOnly = (open: number, close: number): WeekHours => [null, null, null, null, null, null, [open, close]];
  const total = (buckets: { in: number }[]) => buckets.reduce((a, b) => a + b.in, 0);

  it('the night the clocks go back, 01:00–02:00 happens twice and both count as opening hours', () => {
    // Sunday 2026-10-25, 00:00 BST (23:00 UTC Saturday) to 03:00 GMT: four elapsed hours, 16 quarter hours of 1.
    const rows = [{ from: t('2026-10-24T23:00:00Z'), to: t('2026-10-25T03:00:00Z'), countIn: 16, countOut: null }];
    expect(total(countedBuckets(rows, { staffPerDay: 0, openingHours: sundayOnly(0, 120) }, zone))).toBe(12);
    expect(total(countedBuckets(rows, { staffPerDay: 0, openingHours: sundayOnly(60, 120) }, zone))).toBe(8);
    // The whole interval is one local day (Sunday): one staff allowance.
    expect(total(countedBuckets(rows, { staffPerDay: 5, openingHours: null }, zone))).toBe(11);
  });

  it('the night the clocks go forward, 01:00–02:00 does not happen', () => {
    // Sunday 2026-03-29, 00:00 GMT to 03:00 BST: two elapsed hours, 8 quarter hours of 2.
    const rows = [{ from: t('2026-03-29T00:00:00Z'), to: t('2026-03-29T02:00:00Z'), countIn: 16, countOut: null }];
    const buckets = countedBuckets(rows, { staffPerDay: 0, openingHours: sundayOnly(60, 180) }, zone);
    // Only 02:00–03:00 BST (01:00–02:00 UTC) is inside 01:00–03:00 local.
    expect(buckets.map((b) => b.bucket)).toEqual([0, 1, 2, 3].map((i) => t('2026-03-29T01:00:00Z') + i * Q));
    expect(total(buckets)).toBe(8);
  });
});
