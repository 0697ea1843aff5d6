import { describe, expect, it } from 'vitest';
import { parseWeekHoursText, weekHoursText } from '../../../src/lib/door/counter-rules.ts';

describe('opening hours text', () => {
  it('reads runs of days, leaves the rest closed, and writes it back', () => {
    const parsed = parseWeekHoursText('Mon-Fri 09:00-17:30\nsaturday 10:00 – 16:00');
    expect(parsed).toEqual({
      ok: true,
      hours: [[540, 1050], [540, 1050], [540, 1050], [540, 1050], [540, 1050], [600, 960], null],
    });
    if (parsed.ok) expect(weekHoursText(parsed.hours)).toBe('Mon-Fri 09:00-17:30\nSat 10:00-16:00');
  });

  it('empty is no rule; nonsense, reversed times and times off the quarter hour are refused with the line', () => {
    expect(parseWeekHoursText('  \n')).toEqual({ ok: true, hours: null });
    expect(parseWeekHoursText('weekdays 9-5')).toMatchObject({
      ok: false,
      error: expect.stringContaining('weekdays 9-5'),
    });
    expect(parseWeekHoursText('Mon 17:00-09:00')).toMatchObject({
      ok: false,
      error: expect.stringContaining('before'),
    });
    expect(parseWeekHoursText('Mon 09:10-17:00')).toMatchObject({
      ok: false,
      error: expect.stringContaining('quarter'),
    });
    expect(parseWeekHoursText('Fri-Mon 09:00-17:00').ok).toBe(false);
  });
});
