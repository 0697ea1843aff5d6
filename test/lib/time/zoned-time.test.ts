import { describe, expect, it } from 'vitest';
import { addDays, dayOf, dayRange, isDay, localInputValue, startOfDay, zonedToEpoch } from '#lib/time/zoned-time.ts';
import { parseEventTime } from '#lib/offline/event-time.ts';

const HOUR = 3_600_000;

describe('wall-clock time in a time zone', () => {
  it('days are 23, 24 or 25 hours long around the clock changes', () => {
    const len = (day: string, tz: string) => {
      const { from, to } = dayRange(day, tz);
      return (to - from) / HOUR;
    };
    expect(len('2026-03-29', 'Europe/London')).toBe(23);
    expect(len('2026-10-25', 'Europe/London')).toBe(25);
    expect(len('2026-11-26', 'Europe/London')).toBe(24);
    expect(len('2026-03-08', 'America/New_York')).toBe(23);
    expect(len('2026-11-01', 'America/New_York')).toBe(25);
    expect(startOfDay('2026-07-01', 'Europe/London')).toBe(Date.UTC(2026, 5, 30, 23));
    expect(startOfDay('2026-07-01', 'Asia/Kolkata')).toBe(Date.UTC(2026, 5, 30, 18, 30));
  });

  it('a time the clocks skipped does not exist; a time that happened twice is the first', () => {
    expect(zonedToEpoch({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, 'Europe/London')).toBeUndefined();
    expect(zonedToEpoch({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/London')).toBe(
      Date.UTC(2026, 2, 29, 1, 30),
    );
    expect(zonedToEpoch({ year: 2026, month: 10, day: 25, hour: 1, minute: 30 }, 'Europe/London')).toBe(
      Date.UTC(2026, 9, 25, 0, 30),
    );
    expect(zonedToEpoch({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York')).toBe(
      Date.UTC(2026, 10, 1, 5, 30),
    );
  });

  it('where the clocks jump over midnight, the day starts at the first minute that existed', () => {
    // Chile moves its clocks forward at 24:00 on the first Saturday of September.
    const start = startOfDay('2026-09-06', 'America/Santiago');
    expect(dayOf(start, 'America/Santiago')).toBe('2026-09-06');
    expect(dayOf(start - 1, 'America/Santiago')).toBe('2026-09-05');
  });

  it('days and form values', () => {
    expect(dayOf(Date.UTC(2026, 10, 26, 23, 30), 'Europe/Berlin')).toBe('2026-11-27');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(isDay('2026-02-29')).toBe(false);
    expect(isDay('2028-02-29')).toBe(true);
    expect(isDay('26/11/2026')).toBe(false);
    expect(localInputValue(Date.UTC(2026, 6, 1, 13, 5), 'Europe/London')).toBe('2026-07-01T14:05');
  });
});

describe('the time of an offline event, from text', () => {
  const tz = 'Europe/London';
  it('reads ISO 8601 instants and wall-clock times in the site’s zone', () => {
    expect(parseEventTime('2026-11-26T14:05:00Z', tz)).toEqual({ ok: true, at: Date.UTC(2026, 10, 26, 14, 5) });
    expect(parseEventTime('2026-07-01T14:05+02:00', tz)).toEqual({ ok: true, at: Date.UTC(2026, 6, 1, 12, 5) });
    expect(parseEventTime('2026-07-01T14:05:30.250-0500', tz)).toEqual({
      ok: true,
      at: Date.UTC(2026, 6, 1, 19, 5, 30, 250),
    });
    expect(parseEventTime('2026-07-01 14:05', tz)).toEqual({ ok: true, at: Date.UTC(2026, 6, 1, 13, 5) });
    expect(parseEventTime(' 2026-12-01T09:00:15 ', tz)).toEqual({ ok: true, at: Date.UTC(2026, 11, 1, 9, 0, 15) });
  });

  it('refuses with a reason a person can act on', () => {
    const reason = (text: string, options = {}) => {
      const parsed = parseEventTime(text, tz, options);
      return parsed.ok ? 'accepted' : parsed.reason;
    };
    expect(reason('')).toBe('no time');
    expect(reason('2026-11-26')).toMatch(/date without a time/);
    expect(reason('26/11/2026 14:05')).toMatch(/not a time.*YYYY-MM-DD HH:mm/);
    expect(reason('2026-02-30 10:00')).toMatch(/no such date/);
    expect(reason('2026-11-26 24:00')).toMatch(/no such date/);
    expect(reason('2026-03-29 01:30')).toMatch(/did not happen in Europe\/London/);
    expect(reason('2026-11-26T14:05+25:00')).toMatch(/offset/);
    expect(reason('2026-11-26 14:05', { requireOffset: true })).toMatch(/needs a time zone offset/);
  });
});
