/**
 * Wall-clock times in the site's time zone ↔ epoch milliseconds, for scheduling a send: the
 * admin shows and takes times as `YYYY-MM-DDTHH:mm` (an <input type="datetime-local">) in the
 * zone from Settings, whatever the server's or the browser's zone is. The zone arithmetic is
 * lib/time/zoned-time's (correct across daylight saving changes); this adds the form's wording:
 * a time the clocks skip is refused with a sentence; a time that happens twice (clocks going
 * back) is the first of the two.
 */
import { isValidWallTime, localInputValue, zonedToEpoch } from '../time/zoned-time.ts';

export type LocalTimeResult = { ok: true; at: number } | { ok: false; message: string };

const LOCAL_SHAPE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})$/;

/** `2026-03-29T09:30` in `timeZone` → epoch ms. */
export function localTimeToEpoch(local: string, timeZone: string): LocalTimeResult {
  const m = LOCAL_SHAPE.exec(local.trim());
  if (!m) return { ok: false, message: 'Enter the date and time as YYYY-MM-DD HH:MM.' };
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wall = { year, month, day, hour, minute };
  if (!isValidWallTime(wall)) return { ok: false, message: `${local} is not a date and time that exists.` };
  const at = zonedToEpoch(wall, timeZone);
  if (at === undefined) {
    return {
      ok: false,
      message: `${local.replace('T', ' ')} does not exist in ${timeZone}: the clocks skip it that day. Choose a time outside the change.`,
    };
  }
  return { ok: true, at };
}

/** Epoch ms → `2026-03-29T09:30` in `timeZone` (what a datetime-local input shows). */
export const epochToLocalTime: (at: number, timeZone: string) => string = localInputValue;

/** "Sun 29 Mar 2026, 09:30 BST (Europe/London)": a time as the admin shows it, the zone named. */
export function describeTime(at: number, timeZone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
    timeZoneName: 'short',
  }).format(new Date(at));
  return `${text} (${timeZone})`;
}
