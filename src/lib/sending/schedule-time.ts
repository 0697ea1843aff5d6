/**
 * Wall-clock times in the site's time zone ↔ epoch milliseconds, for scheduling a send: the
 * admin shows and takes times as `YYYY-MM-DDTHH:mm` (an <input type="datetime-local">) in the
 * zone from Settings, whatever the server's or the browser's zone is. Correct across daylight
 * saving changes: a time the clocks skip is refused with a sentence; a time that happens twice
 * (clocks going back) is the first of the two.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock reading in `timeZone` at `at`, as if it were UTC (epoch ms, whole seconds). */
function wallClock(at: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second);
}

/** How far `timeZone` is ahead of UTC at `at`, in ms. */
export function zoneOffset(at: number, timeZone: string): number {
  const whole = Math.floor(at / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

export type LocalTimeResult = { ok: true; at: number } | { ok: false; message: string };

const LOCAL_SHAPE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})$/;

/** `2026-03-29T09:30` in `timeZone` → epoch ms. */
export function localTimeToEpoch(local: string, timeZone: string): LocalTimeResult {
  const m = LOCAL_SHAPE.exec(local.trim());
  if (!m) return { ok: false, message: 'Enter the date and time as YYYY-MM-DD HH:MM.' };
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const check = new Date(wall);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59
  ) {
    return { ok: false, message: `${local} is not a date and time that exists.` };
  }
  // The offsets a day either side cover any one change of the clocks around this time.
  const candidates = [
    ...new Set([
      zoneOffset(wall - 86_400_000, timeZone),
      zoneOffset(wall, timeZone),
      zoneOffset(wall + 86_400_000, timeZone),
    ]),
  ]
    .map((offset) => wall - offset)
    .filter((at) => wallClock(at, timeZone) === wall)
    .sort((a, b) => a - b);
  if (candidates.length === 0) {
    return {
      ok: false,
      message: `${local.replace('T', ' ')} does not exist in ${timeZone}: the clocks skip it that day. Choose a time outside the change.`,
    };
  }
  return { ok: true, at: candidates[0]! };
}

/** Epoch ms → `2026-03-29T09:30` in `timeZone` (what a datetime-local input shows). */
export function epochToLocalTime(at: number, timeZone: string): string {
  return new Date(wallClock(at, timeZone)).toISOString().slice(0, 16);
}

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
