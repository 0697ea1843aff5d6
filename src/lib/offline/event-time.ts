import { isValidWallTime, zonedToEpoch, type WallTime } from '../time/zoned-time.ts';

/**
 * Reading the time of an offline event from text (CSV cells, the webhook, the admin form):
 *
 * - ISO 8601 with an offset — `2026-11-26T14:05:00Z`, `2026-11-26T14:05+01:00` — is an instant;
 * - a wall-clock time — `2026-11-26 14:05`, `2026-11-26T14:05:30` — is read in the site's time
 *   zone, DST-correct: a time the clocks skipped is refused, a time that happened twice (the
 *   night the clocks go back) is the first of the two.
 *
 * Anything else (a date alone, 26/11/2026, "yesterday") is refused with a reason a person can act on.
 */

export type ParsedTime = { ok: true; at: number } | { ok: false; reason: string };

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export const TIME_FORMATS_HINT = 'use YYYY-MM-DD HH:mm (site time) or ISO 8601 such as 2026-11-26T14:05:00Z';

function offsetMinutes(text: string): number | undefined {
  if (text.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? '0');
  if (hours > 18 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * `requireOffset`: refuse wall-clock times (the webhook does: a provider's log must say which
 * instant it means).
 */
export function parseEventTime(input: string, timeZone: string, options: { requireOffset?: boolean } = {}): ParsedTime {
  const text = input.trim();
  if (text === '') return { ok: false, reason: 'no time' };
  if (text.length > 40) return { ok: false, reason: `not a time (${TIME_FORMATS_HINT})` };
  const m = PATTERN.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text))
      return { ok: false, reason: `a date without a time of day (${TIME_FORMATS_HINT})` };
    return { ok: false, reason: `not a time: "${text}" (${TIME_FORMATS_HINT})` };
  }
  const wall: WallTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? '0'),
    millisecond: Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000),
  };
  if (!isValidWallTime(wall)) return { ok: false, reason: `no such date or time: "${text}"` };
  if (m[8]) {
    const offset = offsetMinutes(m[8]);
    if (offset === undefined) return { ok: false, reason: `not a time zone offset: "${m[8]}"` };
    const local = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);
    return { ok: true, at: local - offset * 60_000 };
  }
  if (options.requireOffset)
    return { ok: false, reason: 'needs a time zone offset, e.g. 2026-11-26T14:05:00Z or 2026-11-26T14:05:00+01:00' };
  const at = zonedToEpoch(wall, timeZone);
  if (at === undefined)
    return { ok: false, reason: `${text} did not happen in ${timeZone}: the clocks went forward over it` };
  return { ok: true, at };
}
