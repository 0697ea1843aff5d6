/**
 * The buckets of the maintained counts (`report_counts`): their sizes, the grain suffixes of a
 * metric's coarser copies, and how a time or a range falls into them.
 */
/** Plain metrics are counted per 15 minutes: every real UTC offset is a multiple of it. */
export const QUARTER_MS = 15 * 60_000;
/** Per-page and per-source metrics are counted per hour. */
export const HOUR_MS = 60 * 60_000;
/** Issue id of site-wide counts. */
export const SITE = 0;

export const DAY_MS = 24 * HOUR_MS;
/** The site's visits, calls and walk-ins are also counted per minute (`metric~m`): the lift's windows start at the send's minute. */
export const MINUTE_MS = 60_000;

const floorTo = (at: number, size: number): number => at - (((at % size) + size) % size);
export const quarterOf = (at: number): number => floorTo(at, QUARTER_MS);
export const hourOf = (at: number): number => floorTo(at, HOUR_MS);
export const dayOf = (at: number): number => floorTo(at, DAY_MS);
export const minuteOf = (at: number): number => floorTo(at, MINUTE_MS);

/**
 * Each count is also kept at coarser grains, so a report's cost does not grow with how many
 * buckets its range holds: plain metrics per hour (`metric~h`), per UTC day (`metric~d`) and in
 * total (`metric~t`, bucket 0); per-page and per-source metrics per UTC day (`metric~d`).
 */
export const PER_HOUR = '~h';
export const PER_DAY = '~d';
export const TOTAL = '~t';
export const PER_MINUTE = '~m';

/** A plain metric's grain suffix: '' for its 15-minute buckets. */
export type Grain = '' | typeof PER_HOUR | typeof PER_DAY;

/**
 * [from, to) as hour ranges at its edges and whole UTC days between: what a per-page or
 * per-source sum reads (ends are rounded down to the hour).
 */
export function splitByDays(from: number, to: number): { hours: [number, number][]; days: [number, number] | null } {
  const a = hourOf(from);
  const b = hourOf(to);
  const firstDay = dayOf(a) === a ? a : dayOf(a) + DAY_MS;
  const lastDay = dayOf(b);
  if (firstDay >= lastDay) return { hours: [[a, b]], days: null };
  return {
    hours: [
      [a, firstDay],
      [lastDay, b],
    ].filter(([x, y]) => x! < y!) as [number, number][],
    days: [firstDay, lastDay],
  };
}

/** [from, to) (15-minute aligned) as 15-minute, hour and UTC-day pieces: the fewest rows that sum it. */
export function splitRange(from: number, to: number): { grain: Grain; from: number; to: number }[] {
  const pieces: { grain: Grain; from: number; to: number }[] = [];
  const up = (at: number, size: number) => (floorTo(at, size) === at ? at : floorTo(at, size) + size);
  const a = quarterOf(from);
  const b = quarterOf(to);
  if (a >= b) return pieces;
  const h0 = Math.min(up(a, HOUR_MS), b);
  const h1 = Math.max(hourOf(b), h0);
  const d0 = Math.min(up(h0, DAY_MS), h1);
  const d1 = Math.max(dayOf(h1), d0);
  const push = (grain: Grain, x: number, y: number) => x < y && pieces.push({ grain, from: x, to: y });
  push('', a, h0);
  push(PER_HOUR, h0, d0);
  push(PER_DAY, d0, d1);
  push(PER_HOUR, d1, h1);
  push('', h1, b);
  return pieces;
}
