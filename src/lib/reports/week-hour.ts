import { wallTimeOf } from '../time/zoned-time.ts';
import { ZoneClock } from '../time/zone-clock.ts';

/**
 * Counts per weekday (Monday first) × hour of the day in `timeZone`, from counts per time
 * bucket. Buckets are 15 minutes of UTC; every real UTC offset is a multiple of 15 minutes,
 * so each bucket lies within one local hour, also across daylight-saving changes.
 */
export function weekHourMatrix(buckets: readonly { bucket: number; n: number }[], timeZone: string): number[][] {
  const matrix = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  const clock = new ZoneClock(timeZone);
  for (const { bucket, n } of buckets) {
    const { row, hour } = clock.weekHour(bucket);
    matrix[row]![hour]! += n;
  }
  return matrix;
}

/** Monday = row 0 … Sunday = row 6, and the hour, of instant `at` in `timeZone` (through Intl: the reference ZoneClock is tested against). */
export function weekHourOf(at: number, timeZone: string): { row: number; hour: number } {
  const wall = wallTimeOf(at, timeZone);
  const weekday = new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay(); // 0 = Sunday
  return { row: (weekday + 6) % 7, hour: wall.hour };
}

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
