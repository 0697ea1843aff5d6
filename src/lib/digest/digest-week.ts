import { addDays, dayOf, mondayOf, startOfDay, zonedToEpoch } from '../time/zoned-time.ts';

/** When the weekly digest goes out: Mondays at 08:00 in the site's time zone. */
export const DIGEST_WEEKDAY = 'Monday';
export const DIGEST_HOUR = 8;

export interface DigestWeek {
  /** The Monday the digest goes out, "YYYY-MM-DD" in the site's time zone: the claim's key. */
  week: string;
  /** When it is due: that Monday at 08:00 local time. */
  dueAt: number;
  /** The week it covers, [from, to): the Monday before, 00:00, to this Monday, 00:00. */
  from: number;
  to: number;
}

/** The digest of the week holding `now` (due or not yet). */
export function digestWeekOf(now: number, timeZone: string): DigestWeek {
  const week = mondayOf(dayOf(now, timeZone));
  const [year, month, day] = week.split('-').map(Number) as [number, number, number];
  // 08:00 exists on every Monday (clocks change at night, on Sundays in most zones); midnight is the fallback.
  const dueAt =
    zonedToEpoch({ year, month, day, hour: DIGEST_HOUR, minute: 0 }, timeZone) ?? startOfDay(week, timeZone);
  return { week, dueAt, from: startOfDay(addDays(week, -7), timeZone), to: startOfDay(week, timeZone) };
}

/** The digest due at `now`, or undefined before Monday 08:00. A week missed (nothing running all week) is not sent later. */
export function dueDigestWeek(now: number, timeZone: string): DigestWeek | undefined {
  const current = digestWeekOf(now, timeZone);
  return now >= current.dueAt ? current : undefined;
}
