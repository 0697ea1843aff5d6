import { describe, expect, it } from 'vitest';
import { ZoneClock } from '#lib/time/zone-clock.ts';
import { dayOf, wallTimeOf, zoneOffsetAt } from '#lib/time/zoned-time.ts';

/** ZoneClock answers what Intl answers: every quarter hour around each clock change of 2026, and every 97 minutes all year. */
const ZONES = [
  'America/New_York',
  'Europe/London',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'UTC',
];
const QUARTER = 15 * 60_000;
const DAY = 86_400_000;
const YEAR_START = Date.UTC(2026, 0, 1);

function instants(timeZone: string): number[] {
  const out: number[] = [];
  for (let at = YEAR_START; at < YEAR_START + 365 * DAY; at += 97 * 60_000) out.push(at);
  for (let day = 0; day < 365; day++) {
    const start = YEAR_START + day * DAY;
    if (zoneOffsetAt(start, timeZone) === zoneOffsetAt(start + DAY, timeZone)) continue;
    for (let at = start - DAY; at < start + 2 * DAY; at += QUARTER) out.push(at, at + QUARTER - 1);
  }
  return out;
}

describe('ZoneClock', () => {
  for (const timeZone of ZONES) {
    it(`matches Intl in ${timeZone}`, () => {
      const clock = new ZoneClock(timeZone);
      for (const at of instants(timeZone)) {
        const wall = wallTimeOf(at, timeZone);
        const weekday = (new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay() + 6) % 7;
        expect([at, clock.weekHour(at), clock.day(at)]).toEqual([
          at,
          { row: weekday, hour: wall.hour },
          dayOf(at, timeZone),
        ]);
      }
    });
  }
});
