import type { WeekHours } from './placement.ts';

/**
 * A counter's opening hours as people type them in Settings, one line a day or a run of days:
 *
 *   Mon-Fri 09:00-17:30
 *   Sat 10:00-16:00
 *
 * Days not named are closed; an empty text is no opening-hours rule (every hour counts). Times are
 * the site's time zone, on the quarter hour (the buckets' edges), 24:00 for midnight at the end.
 */

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const LINE =
  /^([a-z]{3})[a-z]*(?:\s*[-–]\s*([a-z]{3})[a-z]*)?\s*:?\s+(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})$/i;

export function parseWeekHoursText(text: string): { ok: true; hours: WeekHours | null } | { ok: false; error: string } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) return { ok: true, hours: null };
  const hours: ([number, number] | null)[] = [null, null, null, null, null, null, null];
  for (const line of lines) {
    const m = LINE.exec(line);
    const first = m ? DAYS.indexOf(m[1]!.toLowerCase() as (typeof DAYS)[number]) : -1;
    const last = m?.[2] ? DAYS.indexOf(m[2].toLowerCase() as (typeof DAYS)[number]) : first;
    if (!m || first < 0 || last < first)
      return {
        ok: false,
        error: `“${line.slice(0, 40)}” is not “Mon-Fri 09:00-17:30” (days Mon … Sun, in week order).`,
      };
    const open = Number(m[3]) * 60 + Number(m[4]);
    const close = Number(m[5]) * 60 + Number(m[6]);
    if (Number(m[4]) > 59 || Number(m[6]) > 59 || close > 1440 || open >= close)
      return {
        ok: false,
        error: `“${line.slice(0, 40)}”: the opening time must be before the closing time (00:00 – 24:00).`,
      };
    if (open % 15 !== 0 || close % 15 !== 0)
      return {
        ok: false,
        error: `“${line.slice(0, 40)}”: use times on the quarter hour (counts are kept per 15 minutes).`,
      };
    for (let d = first; d <= last; d++) hours[d] = [open, close];
  }
  return { ok: true, hours };
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const TITLE = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The hours back as text, runs of days with the same hours on one line. */
export function weekHoursText(hours: WeekHours | null): string {
  if (!hours) return '';
  const lines: string[] = [];
  for (let d = 0; d < 7;) {
    const range = hours[d];
    let end = d;
    while (end + 1 < 7 && JSON.stringify(hours[end + 1]) === JSON.stringify(range)) end++;
    if (range) lines.push(`${TITLE[d]}${end > d ? `-${TITLE[end]}` : ''} ${hhmm(range[0])}-${hhmm(range[1])}`);
    d = end + 1;
  }
  return lines.join('\n');
}
