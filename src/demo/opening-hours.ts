import { demoShop } from './shop.ts';
import { wallTimeOf } from '../lib/time/zoned-time.ts';

/** Minutes after midnight the store opens and closes on one weekday; null when closed all day. */
export type DayHours = { opens: number; closes: number } | null;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

function minutesOf(clock: string): number {
  const [h, m] = clock.trim().split(':').map(Number);
  if (!Number.isInteger(h) || !Number.isInteger(m ?? 0)) throw new Error(`not a time of day: ${clock}`);
  return h! * 60 + (m ?? 0);
}

function parseHours(time: string): DayHours {
  if (/closed/i.test(time)) return null;
  const [opens, closes] = time.split(/\s*[–-]\s*/).map(minutesOf);
  if (opens === undefined || closes === undefined) throw new Error(`not opening hours: ${time}`);
  return { opens, closes };
}

/**
 * The store's opening hours by weekday (0 = Sunday), read from the lines the site shows
 * ("Tuesday – Wednesday" / "9:30 – 17:30", "Monday" / "Closed").
 */
export function openingHoursByWeekday(lines: readonly { days: string; time: string }[] = demoShop.hours): DayHours[] {
  const week: DayHours[] = Array.from({ length: 7 }, () => null);
  for (const line of lines) {
    const [first, last] = line.days
      .split(/\s*[–-]\s*/)
      .map((d) => WEEKDAYS.indexOf(d.trim() as (typeof WEEKDAYS)[number]));
    if (first === undefined || first < 0 || (last !== undefined && last < 0))
      throw new Error(`not a day or range of days: ${line.days}`);
    const hours = parseHours(line.time);
    for (let day = first; ; day = (day + 1) % 7) {
      week[day] = hours;
      if (day === (last ?? first)) break;
    }
  }
  return week;
}

/** Weekday (0 = Sunday) and minute of the day of an instant in a time zone. */
export function weekdayAndMinute(at: number, timeZone: string): { weekday: number; minute: number } {
  const w = wallTimeOf(at, timeZone);
  return { weekday: new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay(), minute: w.hour * 60 + w.minute };
}

/** True when the store is open at `at` (site time zone). */
export function isOpenAt(at: number, timeZone: string, week: readonly DayHours[] = openingHoursByWeekday()): boolean {
  const { weekday, minute } = weekdayAndMinute(at, timeZone);
  const hours = week[weekday];
  return hours !== null && hours !== undefined && minute >= hours.opens && minute < hours.closes;
}
