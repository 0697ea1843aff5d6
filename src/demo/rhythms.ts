import { addDays, dayOf, startOfDay } from '../lib/time/zoned-time.ts';
import { shiftByWeeks } from '../lib/reports/lift.ts';
import { weekdayAndMinute } from './opening-hours.ts';
import type { Random } from './random.ts';

/** The rhythms of the demo history, in the site's time zone. */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Site visits by local hour (0–23): quiet nights, lunchtime and evening peaks. */
const SITE_BY_HOUR = [
  0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.7, 1, 1.1, 1.15, 1.2, 1.35, 1.25, 1.1, 1.05, 1.05, 1.1, 1.3, 1.5, 1.55,
  1.35, 0.9, 0.45,
];
const SITE_MEAN = SITE_BY_HOUR.reduce((a, b) => a + b, 0) / 24;
/** Site visits by weekday (0 = Sunday). */
const SITE_BY_WEEKDAY = [0.8, 1.05, 1, 1, 1, 0.95, 0.85];

/** Relative site traffic at an instant (1 = an average hour of an average day). */
export function siteTrafficAt(at: number, timeZone: string): number {
  const { weekday, minute } = weekdayAndMinute(at, timeZone);
  return (SITE_BY_HOUR[Math.floor(minute / 60)]! / SITE_MEAN) * SITE_BY_WEEKDAY[weekday]!;
}

/** Calls and walk-ins per open hour by local hour: calls in the morning, walk-ins around lunch and late afternoon. */
const CALLS_BY_HOUR: Record<number, number> = {
  8: 0.6,
  9: 1.1,
  10: 1.4,
  11: 1.3,
  12: 0.9,
  13: 0.8,
  14: 1,
  15: 1,
  16: 0.9,
  17: 0.6,
  18: 0.5,
  19: 0.4,
  20: 0.3,
};
const WALK_INS_BY_HOUR: Record<number, number> = {
  8: 0.3,
  9: 0.6,
  10: 1,
  11: 1.3,
  12: 1.4,
  13: 1.2,
  14: 1.1,
  15: 1.2,
  16: 1.3,
  17: 1,
  18: 0.8,
  19: 0.6,
  20: 0.3,
};
const CALLS_BY_WEEKDAY = [0.4, 1, 1.05, 1, 1.05, 1, 0.7];
const WALK_INS_BY_WEEKDAY = [0.9, 1, 0.95, 0.95, 1.1, 1.05, 1.6];

/** Expected calls or walk-ins per open hour at an instant, before any newsletter effect. */
export function footfallAt(kind: 'call' | 'walk_in', at: number, timeZone: string, perOpenHour: number): number {
  const { weekday, minute } = weekdayAndMinute(at, timeZone);
  const hour = Math.floor(minute / 60);
  if (kind === 'call') return perOpenHour * (CALLS_BY_HOUR[hour] ?? 0.2) * CALLS_BY_WEEKDAY[weekday]!;
  return perOpenHour * (WALK_INS_BY_HOUR[hour] ?? 0.2) * WALK_INS_BY_WEEKDAY[weekday]!;
}

/**
 * How long after a message arrives its reader opens it: half within the first couple of hours,
 * most of the rest that day or the next, a few days later. Never under a minute.
 */
export function readingDelay(random: Random): number {
  const kind = random.weighted([
    ['soon', 50],
    ['later', 36],
    ['days', 14],
  ] as const);
  const delay =
    kind === 'soon'
      ? random.exponential(70 * MINUTE_MS)
      : kind === 'later'
        ? random.logNormal(8 * HOUR_MS, 0.8)
        : random.between(1, 6) * DAY_MS;
  return Math.max(MINUTE_MS, delay);
}

/** People sleep: a time between midnight and 6 am (site time) moves to the morning, mostly. */
export function awake(at: number, timeZone: string, random: Random): number {
  const { minute } = weekdayAndMinute(at, timeZone);
  if (minute >= 6 * 60 || random.chance(0.12)) return at;
  return at + (6.5 * 60 - minute) * MINUTE_MS + random.between(0, 150) * MINUTE_MS;
}

/** A time of day people are about, on the day of `at` (site time): between 8 am and 10 pm. */
export function daytimeOn(at: number, timeZone: string, random: Random): number {
  const start = startOfDay(dayOf(at, timeZone), timeZone);
  return start + random.between(8, 22) * HOUR_MS;
}

const SEND_WEEKDAYS = new Set([2, 3, 4, 6]);

/**
 * When the issues went out: spread from four weeks in (so each has normal weeks before it to
 * compare with) to a few days before the end, on a Tuesday, Wednesday, Thursday or Saturday
 * morning between 9 and 10:30 (site time).
 */
export function sendTimes(start: number, end: number, count: number, timeZone: string, random: Random): number[] {
  const span = end - start;
  const first = start + Math.min(28 * DAY_MS, span * 0.4);
  const last = end - Math.min(3.5 * DAY_MS, span * 0.25);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const target = count === 1 ? last : first + ((last - first) * i) / (count - 1);
    const targetDay = dayOf(target, timeZone);
    const morning = (day: string) => startOfDay(day, timeZone) + (9 * 60 + random.int(0, 6) * 15) * MINUTE_MS;
    let chosen = morning(targetDay);
    for (const shift of [0, 1, -1, 2, -2, 3, -3]) {
      const candidate = morning(addDays(targetDay, shift));
      const okay =
        SEND_WEEKDAYS.has(weekdayAndMinute(candidate, timeZone).weekday) &&
        candidate > (times.at(-1) ?? -Infinity) + DAY_MS &&
        candidate < end - DAY_MS;
      if (okay) {
        chosen = candidate;
        break;
      }
    }
    times.push(chosen);
  }
  return times;
}

/**
 * A weekly run (issue 19): the last `run` issues go out exactly a calendar week apart, on the same
 * weekday at the same wall-clock time (site time, across clock changes) as the first of them — the
 * cadence for which a week-on-week lift has no clean week. Issues that would then fall within a
 * day of `end` keep their own time. Fewer than two in the run: unchanged.
 */
export function weeklyRun(times: readonly number[], run: number, end: number, timeZone: string): number[] {
  const out = [...times];
  const first = out.length - run;
  if (run < 2 || first < 0) return out;
  for (let k = 1; k < run; k++) {
    const at = shiftByWeeks(out[first]!, -k, timeZone);
    if (at < end - DAY_MS) out[first + k] = at;
  }
  return out;
}
