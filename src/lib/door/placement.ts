import { MINUTE_MS, QUARTER_MS } from '../counts/buckets.ts';
import { dayOf, wallTimeOf } from '../time/zoned-time.ts';

/**
 * Where a door counter's interval counts go in the maintained buckets, and what its staff rule
 * takes away. Pure integer arithmetic, the same for every writer and for the direct count the
 * tests compare with.
 *
 * 1. **Placement.** A count over [from, to) is shared among the 15-minute buckets the interval
 *    overlaps, in proportion to the overlap (milliseconds), by the largest remainder: each bucket
 *    gets ⌊count × overlap / length⌋, and the people left over go one each to the buckets with the
 *    largest remainders (ties: the earlier bucket). The shares always sum to the count. An interval
 *    inside one bucket puts everything there; an interval ending exactly on a bucket edge puts
 *    nothing in the next bucket. Buckets are UTC quarter-hours: every zone's offset is a multiple
 *    of 15 minutes, so a clock change moves no bucket edge, and an interval spanning the change is
 *    shared by elapsed time (the repeated hour when clocks go back holds real people).
 * 2. **Opening hours** (a counter's rule, optional): a bucket whose start, in the site's time zone,
 *    falls outside that weekday's opening hours counts nothing.
 * 3. **Staff per day** (optional): in each day of the site's time zone, the first N people in (and
 *    N out) are not counted, taken from that day's buckets in time order after step 2.
 * 4. **Minutes.** A bucket's counted people in are shared among its minutes the same way, weighted
 *    by how much of each minute the counter's intervals cover (the lift's windows start at a minute).
 */

/** Opening hours by weekday, Monday first: [open, close) in minutes after local midnight, or null (closed). */
export type WeekHours = readonly (readonly [number, number] | null)[];

export interface CounterRule {
  staffPerDay: number;
  /** null: no opening-hours rule (every hour counts). */
  openingHours: WeekHours | null;
}

export interface IntervalCount {
  from: number;
  to: number;
  countIn: number;
  countOut: number | null;
}

export interface CountedBucket {
  bucket: number;
  in: number;
  out: number;
  /** People in by minute (keys are minute starts), summing to `in`. */
  minutes: Map<number, number>;
}

/**
 * `total` shared by `weights` (non-negative integers, not all 0), largest remainder: the shares are
 * integers summing to `total`; ties in remainder go to the earlier weight.
 */
export function shareByLargestRemainder(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) throw new Error('shareByLargestRemainder: no weight');
  const product = (w: number) => BigInt(total) * BigInt(w);
  const shares = weights.map((w) => Number(product(w) / BigInt(sum)));
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = weights
    .map((w, i) => ({ i, rest: product(w) % BigInt(sum) }))
    .sort((a, b) => (a.rest === b.rest ? a.i - b.i : a.rest > b.rest ? -1 : 1));
  for (const { i } of order) {
    if (left === 0) break;
    shares[i]!++;
    left--;
  }
  return shares;
}

/** The grid cells of `size` that [from, to) overlaps, with the overlap in ms. */
function cells(from: number, to: number, size: number): { start: number; overlap: number }[] {
  const out: { start: number; overlap: number }[] = [];
  let start = from - (((from % size) + size) % size);
  for (; start < to; start += size) {
    const overlap = Math.min(to, start + size) - Math.max(from, start);
    if (overlap > 0) out.push({ start, overlap });
  }
  return out;
}

/** Step 1: one interval's count in the 15-minute buckets it overlaps (only buckets with a share > 0). */
export function placeInterval(from: number, to: number, count: number): { bucket: number; n: number }[] {
  if (!(to > from)) throw new Error('placeInterval: empty interval');
  const parts = cells(from, to, QUARTER_MS);
  const shares =
    count === 0
      ? parts.map(() => 0)
      : shareByLargestRemainder(
          count,
          parts.map((p) => p.overlap),
        );
  return parts.map((p, i) => ({ bucket: p.start, n: shares[i]! })).filter((p) => p.n > 0);
}

/** True when the bucket starting at `bucket` opens within the weekday's hours in `timeZone`. */
export function isWithinOpeningHours(bucket: number, hours: WeekHours, timeZone: string): boolean {
  const wall = wallTimeOf(bucket, timeZone);
  const weekday = (new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay() + 6) % 7;
  const range = hours[weekday];
  if (!range) return false;
  const minute = wall.hour * 60 + wall.minute;
  return minute >= range[0] && minute < range[1];
}

/**
 * Steps 1–4 for one counter: what its intervals count, per 15-minute bucket, keeping only buckets
 * in [from, to) (whole days of `timeZone` when the staff rule applies, so each day's allowance is
 * taken once). Buckets that count nothing are left out.
 */
export function countedBuckets(
  rows: readonly IntervalCount[],
  rule: CounterRule,
  timeZone: string,
  range: { from: number; to: number } = { from: -Infinity, to: Infinity },
): CountedBucket[] {
  const byBucket = new Map<number, { in: number; out: number }>();
  const at = (bucket: number) => {
    let entry = byBucket.get(bucket);
    if (!entry) byBucket.set(bucket, (entry = { in: 0, out: 0 }));
    return entry;
  };
  for (const row of rows) {
    for (const p of placeInterval(row.from, row.to, row.countIn)) at(p.bucket).in += p.n;
    if (row.countOut !== null) for (const p of placeInterval(row.from, row.to, row.countOut)) at(p.bucket).out += p.n;
  }
  let buckets = [...byBucket.entries()]
    .filter(([bucket]) => bucket >= range.from && bucket < range.to)
    .sort((a, b) => a[0] - b[0]);
  if (rule.openingHours) {
    const hours = rule.openingHours;
    buckets = buckets.filter(([bucket]) => isWithinOpeningHours(bucket, hours, timeZone));
  }
  if (rule.staffPerDay > 0) {
    const left = new Map<string, { in: number; out: number }>();
    for (const [bucket, counts] of buckets) {
      const day = dayOf(bucket, timeZone);
      let allowance = left.get(day);
      if (!allowance) left.set(day, (allowance = { in: rule.staffPerDay, out: rule.staffPerDay }));
      for (const side of ['in', 'out'] as const) {
        const taken = Math.min(allowance[side], counts[side]);
        allowance[side] -= taken;
        counts[side] -= taken;
      }
    }
  }
  const result: CountedBucket[] = [];
  for (const [bucket, counts] of buckets) {
    if (counts.in === 0 && counts.out === 0) continue;
    result.push({ bucket, in: counts.in, out: counts.out, minutes: minutesOf(bucket, counts.in, rows) });
  }
  return result;
}

/** Step 4: a bucket's people in shared among its minutes by how much of each the intervals cover. */
function minutesOf(bucket: number, count: number, rows: readonly IntervalCount[]): Map<number, number> {
  const minutes = new Map<number, number>();
  if (count === 0) return minutes;
  const cover = new Map<number, number>();
  for (const row of rows) {
    const from = Math.max(row.from, bucket);
    const to = Math.min(row.to, bucket + QUARTER_MS);
    if (to <= from) continue;
    for (const c of cells(from, to, MINUTE_MS)) cover.set(c.start, (cover.get(c.start) ?? 0) + c.overlap);
  }
  const starts = [...cover.keys()].sort((a, b) => a - b);
  const shares = shareByLargestRemainder(
    count,
    starts.map((s) => cover.get(s)!),
  );
  starts.forEach((s, i) => shares[i]! > 0 && minutes.set(s, shares[i]!));
  return minutes;
}
