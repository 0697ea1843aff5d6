import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, PER_DAY, PER_HOUR, QUARTER_MS, splitByDays, splitRange } from '../../../src/lib/reports/report-counts.repository.ts';

/** The pieces a range is read in: contiguous, covering it exactly, each aligned to its grain. */
describe('splitRange', () => {
  const size = { '': QUARTER_MS, [PER_HOUR]: HOUR_MS, [PER_DAY]: DAY_MS } as Record<string, number>;
  const base = Date.UTC(2026, 10, 1);
  const cases: [number, number][] = [
    [base, base + 3 * DAY_MS],
    [base + 15 * 60_000, base + 2 * DAY_MS + 45 * 60_000],
    [base + 9 * HOUR_MS + 15 * 60_000, base + 9 * HOUR_MS + 45 * 60_000],
    [base + 23 * HOUR_MS + 45 * 60_000, base + DAY_MS + 15 * 60_000],
    [base, base],
    [base + 5 * HOUR_MS, base + 7 * DAY_MS + 5 * HOUR_MS],
  ];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 300; i++) {
    const a = base + Math.floor(random() * 40 * 96) * QUARTER_MS;
    cases.push([a, a + Math.floor(random() * 20 * 96) * QUARTER_MS]);
  }
  it('covers every range exactly with aligned pieces, days in the middle', () => {
    for (const [from, to] of cases) {
      const pieces = splitRange(from, to);
      let at = from;
      for (const p of pieces) {
        expect(p.from).toBe(at);
        expect(p.from % size[p.grain]!).toBe(0);
        expect(p.to % size[p.grain]!).toBe(0);
        expect(p.to).toBeGreaterThan(p.from);
        at = p.to;
      }
      expect(at).toBe(Math.max(from, to));
      expect(pieces.length).toBeLessThanOrEqual(5);
      if (to - from >= 2 * DAY_MS) expect(pieces.some((p) => p.grain === PER_DAY)).toBe(true);
    }
  });
  it('splitByDays: hours at the ends, whole UTC days between', () => {
    expect(splitByDays(base + 5 * HOUR_MS, base + 3 * DAY_MS + 2 * HOUR_MS)).toEqual({ hours: [[base + 5 * HOUR_MS, base + DAY_MS], [base + 3 * DAY_MS, base + 3 * DAY_MS + 2 * HOUR_MS]], days: [base + DAY_MS, base + 3 * DAY_MS] });
    expect(splitByDays(base + 5 * HOUR_MS, base + 9 * HOUR_MS)).toEqual({ hours: [[base + 5 * HOUR_MS, base + 9 * HOUR_MS]], days: null });
    expect(splitByDays(base, base + 2 * DAY_MS)).toEqual({ hours: [], days: [base, base + 2 * DAY_MS] });
  });
});
