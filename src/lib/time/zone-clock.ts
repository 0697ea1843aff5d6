import { zoneOffsetAt } from './zoned-time.ts';

const DAY_MS = 86_400_000;
const QUARTER_MS = 15 * 60_000;

interface DayOffsets {
  /** The offset before `switchAt` and from it on (the same when the day has no clock change). */
  before: number;
  after: number;
  switchAt: number;
}

/**
 * Local weekday, hour and day of many instants in one time zone, fast: Intl is costly per
 * call (docs/performance.md), so the zone's offset is worked out once per UTC day (twice, plus a binary search on
 * the quarter-hour grid when the clocks change that day — every real change happens on a
 * quarter hour) and the rest is arithmetic. Same answers as wallTimeOf/dayOf, tested.
 */
export class ZoneClock {
  readonly timeZone: string;
  readonly #days = new Map<number, DayOffsets>();

  constructor(timeZone: string) {
    this.timeZone = timeZone;
  }

  offsetAt(at: number): number {
    const day = Math.floor(at / DAY_MS);
    let offsets = this.#days.get(day);
    if (!offsets) this.#days.set(day, (offsets = this.#offsetsOf(day)));
    return at < offsets.switchAt ? offsets.before : offsets.after;
  }

  /** The local wall time as if it were UTC (read it with getUTC…). */
  #local(at: number): Date {
    return new Date(at + this.offsetAt(at));
  }

  /** Monday = 0 … Sunday = 6, and the hour of the day. */
  weekHour(at: number): { row: number; hour: number } {
    const local = this.#local(at);
    return { row: (local.getUTCDay() + 6) % 7, hour: local.getUTCHours() };
  }

  /** "YYYY-MM-DD" of the local day. */
  day(at: number): string {
    return this.#local(at).toISOString().slice(0, 10);
  }

  #offsetsOf(day: number): DayOffsets {
    const start = day * DAY_MS;
    const end = start + DAY_MS;
    const before = zoneOffsetAt(start, this.timeZone);
    const after = zoneOffsetAt(end, this.timeZone);
    if (before === after) return { before, after, switchAt: Infinity };
    // The first quarter hour in (start, end] already on the new offset.
    let lo = 0;
    let hi = DAY_MS / QUARTER_MS;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (zoneOffsetAt(start + mid * QUARTER_MS, this.timeZone) === before) lo = mid;
      else hi = mid;
    }
    return { before, after, switchAt: start + hi * QUARTER_MS };
  }
}
