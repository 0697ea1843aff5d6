import { describe, expect, it } from 'vitest';
import { describeTime, epochToLocalTime, localTimeToEpoch } from '#lib/sending/schedule-time.ts';

describe('schedule times in the site time zone', () => {
  it('reads a wall-clock time in the zone, whatever the server zone', () => {
    expect(localTimeToEpoch('2026-07-01T09:30', 'Europe/London')).toEqual({
      ok: true,
      at: Date.UTC(2026, 6, 1, 8, 30),
    });
    expect(localTimeToEpoch('2026-01-15T09:30', 'Europe/London')).toEqual({
      ok: true,
      at: Date.UTC(2026, 0, 15, 9, 30),
    });
    expect(localTimeToEpoch('2026-01-15T09:30', 'America/New_York')).toEqual({
      ok: true,
      at: Date.UTC(2026, 0, 15, 14, 30),
    });
    expect(localTimeToEpoch('2026-07-01 09:30', 'Asia/Kolkata')).toEqual({ ok: true, at: Date.UTC(2026, 6, 1, 4, 0) });
    expect(localTimeToEpoch('2026-01-15T09:30', 'UTC')).toEqual({ ok: true, at: Date.UTC(2026, 0, 15, 9, 30) });
  });

  it('is right on both sides of a daylight-saving change', () => {
    // Europe/London: clocks go forward at 01:00 UTC on 29 March 2026, back at 01:00 UTC on 25 October 2026.
    expect(localTimeToEpoch('2026-03-29T00:30', 'Europe/London')).toEqual({
      ok: true,
      at: Date.UTC(2026, 2, 29, 0, 30),
    });
    expect(localTimeToEpoch('2026-03-29T03:00', 'Europe/London')).toEqual({
      ok: true,
      at: Date.UTC(2026, 2, 29, 2, 0),
    });
    // New York: forward on 8 March 2026 at 02:00 local.
    expect(localTimeToEpoch('2026-03-08T01:59', 'America/New_York')).toEqual({
      ok: true,
      at: Date.UTC(2026, 2, 8, 6, 59),
    });
    expect(localTimeToEpoch('2026-03-08T03:00', 'America/New_York')).toEqual({
      ok: true,
      at: Date.UTC(2026, 2, 8, 7, 0),
    });
  });

  it('refuses a time the clocks skip, and takes the first of a time that happens twice', () => {
    const skipped = localTimeToEpoch('2026-03-29T01:30', 'Europe/London');
    expect(skipped).toMatchObject({ ok: false, message: expect.stringContaining('does not exist in Europe/London') });
    expect(localTimeToEpoch('2026-03-08T02:30', 'America/New_York').ok).toBe(false);
    // 01:30 on 25 October 2026 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    expect(localTimeToEpoch('2026-10-25T01:30', 'Europe/London')).toEqual({
      ok: true,
      at: Date.UTC(2026, 9, 25, 0, 30),
    });
  });

  it('refuses what is not a time', () => {
    for (const bad of ['', 'tomorrow', '2026-02-30T10:00', '2026-13-01T10:00', '2026-01-01T24:00', '2026-01-01T10:60'])
      expect(localTimeToEpoch(bad, 'Europe/London').ok, bad).toBe(false);
  });

  it('shows times in the zone, named, and round-trips through the form value', () => {
    const at = Date.UTC(2026, 9, 25, 1, 30);
    expect(epochToLocalTime(at, 'Europe/London')).toBe('2026-10-25T01:30');
    expect(describeTime(at, 'Europe/London')).toBe('Sun, 25 Oct 2026, 01:30 GMT (Europe/London)');
    expect(describeTime(Date.UTC(2026, 6, 1, 8, 30), 'Europe/London')).toBe(
      'Wed, 1 Jul 2026, 09:30 BST (Europe/London)',
    );
    for (const zone of ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 86_400_000 * 7 + 3_600_000 * 5) {
        const local = epochToLocalTime(t, zone);
        const back = localTimeToEpoch(local, zone);
        expect(back.ok).toBe(true);
        if (back.ok) expect(epochToLocalTime(back.at, zone)).toBe(local);
      }
    }
  });
});
