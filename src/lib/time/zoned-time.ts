/**
 * Wall-clock time in an IANA time zone (the site's setting), correct across daylight-saving
 * changes, with nothing but Intl (Node 24 has no Temporal). Times are epoch milliseconds;
 * days are "YYYY-MM-DD" strings.
 *
 *   dayOf(at, 'Europe/London')               → '2026-03-29'
 *   startOfDay('2026-03-29', 'Europe/London') → the instant that day began there
 *   zonedToEpoch({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, 'Europe/London')
 *     → undefined: clocks went from 01:00 to 02:00 that night, so 01:30 never happened
 */

export interface WallTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
  millisecond?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock time at instant `at` in `timeZone`. */
export function wallTimeOf(at: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(at)))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
    millisecond: ((at % 1000) + 1000) % 1000,
  };
}

const wallAsUtc = (w: WallTime) =>
  Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second ?? 0, w.millisecond ?? 0);

/** How far `timeZone` is ahead of UTC at instant `at`, in milliseconds (London in summer: 3,600,000). */
export function zoneOffsetAt(at: number, timeZone: string): number {
  return wallAsUtc(wallTimeOf(at, timeZone)) - at;
}

/** False for 2026-02-30, 24:00, minute 60 and the like. */
export function isValidWallTime(w: WallTime): boolean {
  const check = new Date(wallAsUtc(w));
  return (
    Number.isInteger(w.year) &&
    w.year >= 1000 &&
    w.year <= 9999 &&
    check.getUTCFullYear() === w.year &&
    check.getUTCMonth() === w.month - 1 &&
    check.getUTCDate() === w.day &&
    check.getUTCHours() === w.hour &&
    check.getUTCMinutes() === w.minute &&
    check.getUTCSeconds() === (w.second ?? 0)
  );
}

/**
 * The instant a wall-clock time names in `timeZone`. When the clocks go back and the time
 * happens twice, the earlier instant; when they go forward and it never happens, undefined.
 */
export function zonedToEpoch(w: WallTime, timeZone: string): number | undefined {
  const local = wallAsUtc(w);
  // The zone's offsets a day either side cover any single transition near this time.
  const offsets = new Set([
    zoneOffsetAt(local - 86_400_000, timeZone),
    zoneOffsetAt(local, timeZone),
    zoneOffsetAt(local + 86_400_000, timeZone),
  ]);
  let found: number | undefined;
  for (const offset of offsets) {
    const at = local - offset;
    if (zoneOffsetAt(at, timeZone) === offset && (found === undefined || at < found)) found = at;
  }
  return found;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** "YYYY-MM-DD" of instant `at` in `timeZone`. */
export function dayOf(at: number, timeZone: string): string {
  const w = wallTimeOf(at, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isDay(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DAY.exec(value);
  return !!m && isValidWallTime({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0 });
}

/** The day `n` days after (or before) `day`. */
export function addDays(day: string, n: number): string {
  const m = DAY.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n));
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * The instant `day` began in `timeZone`: local midnight, or — where the clocks jumped over
 * midnight that night (e.g. America/Santiago) — the first minute that did exist.
 */
export function startOfDay(day: string, timeZone: string): number {
  const m = DAY.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const base = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0 };
  for (let minute = 0; minute <= 180; minute += 15) {
    const at = zonedToEpoch({ ...base, hour: Math.floor(minute / 60), minute: minute % 60 }, timeZone);
    if (at !== undefined) return at;
  }
  throw new Error(`no start of ${day} in ${timeZone}`);
}

/** [start, end) of `day` in `timeZone`: 23, 24 or 25 hours long. */
export function dayRange(day: string, timeZone: string): { from: number; to: number } {
  return { from: startOfDay(day, timeZone), to: startOfDay(addDays(day, 1), timeZone) };
}

/** "14:05" at instant `at` in `timeZone`. */
export function clockTimeOf(at: number, timeZone: string): string {
  const w = wallTimeOf(at, timeZone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** "2026-11-26T14:05" — the value an <input type="datetime-local"> shows for `at`. */
export function localInputValue(at: number, timeZone: string): string {
  return `${dayOf(at, timeZone)}T${clockTimeOf(at, timeZone)}`;
}

/** The Monday on or before `day` ("YYYY-MM-DD"): the first day of its week. */
export function mondayOf(day: string): string {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}
