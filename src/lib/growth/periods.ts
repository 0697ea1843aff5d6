import { addDays, dayOf, mondayOf, startOfDay } from '../time/zoned-time.ts';

/** The growth chart's ranges: 30 days by day, 12 weeks by week (Monday to Sunday), 12 months by month. */
export const GROWTH_RANGES = ['30d', '12w', '12m'] as const;
export type GrowthRange = (typeof GROWTH_RANGES)[number];
export const DEFAULT_GROWTH_RANGE: GrowthRange = '12w';

export const GROWTH_RANGE_NAMES: Record<GrowthRange, string> = {
  '30d': '30 days',
  '12w': '12 weeks',
  '12m': '12 months',
};

export interface Period {
  /** First day of the period, "YYYY-MM-DD" in the site's time zone. */
  firstDay: string;
  /** [from, to): local midnights. */
  from: number;
  to: number;
  /** The period still running at `now`: its counts are so far. */
  partial: boolean;
}

function addMonths(firstOfMonth: string, n: number): string {
  const [year, month] = firstOfMonth.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(year, month - 1 + n, 1));
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** The range's periods, oldest first, the last one holding `now` (local days, weeks or months in `timeZone`). */
export function growthPeriods(range: GrowthRange, timeZone: string, now: number): Period[] {
  const today = dayOf(now, timeZone);
  let firstDays: string[];
  if (range === '30d') firstDays = Array.from({ length: 31 }, (_, i) => addDays(today, i - 30));
  else if (range === '12w') firstDays = Array.from({ length: 13 }, (_, i) => addDays(mondayOf(today), 7 * (i - 12)));
  else firstDays = Array.from({ length: 13 }, (_, i) => addMonths(`${today.slice(0, 7)}-01`, i - 12));
  const next = (day: string) =>
    range === '30d' ? addDays(day, 1) : range === '12w' ? addDays(day, 7) : addMonths(day, 1);
  return firstDays.map((firstDay) => {
    const to = startOfDay(next(firstDay), timeZone);
    return { firstDay, from: startOfDay(firstDay, timeZone), to, partial: now < to };
  });
}

export function parseGrowthRange(
  value: string | null,
): { ok: true; range: GrowthRange } | { ok: false; range: GrowthRange; message: string } {
  if (value === null || value === '') return { ok: true, range: DEFAULT_GROWTH_RANGE };
  const range = GROWTH_RANGES.find((r) => r === value);
  if (range) return { ok: true, range };
  return {
    ok: false,
    range: DEFAULT_GROWTH_RANGE,
    message: `There is no list-growth range “${value.slice(0, 20)}”: choose ${GROWTH_RANGES.map((r) => GROWTH_RANGE_NAMES[r]).join(', ')}. Showing ${GROWTH_RANGE_NAMES[DEFAULT_GROWTH_RANGE]}.`,
  };
}
