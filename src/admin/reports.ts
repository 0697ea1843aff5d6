/** The report pages of the admin: their parameters in the URL, and numbers in words. */
import {
  COMPARISON_COLUMNS,
  firstDirection,
  type ComparisonColumn,
  type ComparisonSort,
} from '../lib/reports/comparison-table.ts';
import type { LiftResult } from '../lib/reports/lift.ts';
import { CURVE_SPANS, type CurveSpan } from '../lib/reports/issue-report.service.ts';
import type { CurveAxis } from '../components/charts/chart-data.ts';

export const RANGE_DAYS = [7, 30, 90] as const;
export type RangeDays = (typeof RANGE_DAYS)[number];
export const DEFAULT_RANGE_DAYS: RangeDays = 30;

/** `?days=7|30|90` (default 30); anything else is refused with a sentence saying what is allowed. */
export function parseRangeDays(
  params: URLSearchParams,
): { ok: true; days: RangeDays } | { ok: false; days: RangeDays; message: string } {
  const value = params.get('days');
  if (value === null || value === '') return { ok: true, days: DEFAULT_RANGE_DAYS };
  const days = RANGE_DAYS.find((d) => String(d) === value);
  if (days) return { ok: true, days };
  return {
    ok: false,
    days: DEFAULT_RANGE_DAYS,
    message: `There is no range of “${value.slice(0, 20)}” days: choose ${RANGE_DAYS.join(', ')} days. Showing the last ${DEFAULT_RANGE_DAYS} days.`,
  };
}

const counts = new Intl.NumberFormat('en-GB');

/** 1234 → "1,234". */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** 0.625 → "62.5%"; null (nothing delivered yet) → "—". */
export function formatRate(rate: number | null): string {
  if (rate === null) return '—';
  return `${(Math.round(rate * 1000) / 10).toLocaleString('en-GB', { maximumFractionDigits: 1 })}%`;
}

/** The link a column heading sorts by: its first direction, or the other one when it is the current sort. */
export function sortHref(column: ComparisonColumn, current: ComparisonSort, base = ''): string {
  const dir = column.key === current.column ? (current.dir === 'asc' ? 'desc' : 'asc') : firstDirection(column);
  return `${base}?sort=${encodeURIComponent(column.key)}&dir=${dir}`;
}

export function ariaSort(column: ComparisonColumn, current: ComparisonSort): 'ascending' | 'descending' | undefined {
  if (column.key !== current.column) return undefined;
  return current.dir === 'asc' ? 'ascending' : 'descending';
}

/** What the sort link does, for screen readers and the tooltip. */
export function sortLabel(column: ComparisonColumn, current: ComparisonSort): string {
  const next = column.key === current.column ? (current.dir === 'asc' ? 'desc' : 'asc') : firstDirection(column);
  const words =
    column.kind === 'text'
      ? { asc: 'A to Z', desc: 'Z to A' }
      : column.kind === 'time'
        ? { asc: 'oldest first', desc: 'newest first' }
        : { asc: 'smallest first', desc: 'largest first' };
  return `Sort by ${column.heading.toLowerCase()}, ${words[next]}`;
}

export { COMPARISON_COLUMNS };

/** "Sending", "Sent", … for a send's state. */
export const SEND_STATE_TEXT: Record<string, string> = {
  scheduled: 'Scheduled',
  running: 'Sending',
  paused: 'Paused',
  cancelled: 'Cancelled',
  finished: 'Sent',
};

/** 44 → "44"; 2.25 → "2.3"; 0.04 → "0.04" (small expected counts keep their precision). */
export function formatAmount(n: number): string {
  const abs = Math.abs(n);
  const digits = abs >= 10 ? 0 : abs >= 1 ? 1 : 2;
  return n.toLocaleString('en-GB', { maximumFractionDigits: digits });
}

const signed = (n: number) => (n > 0 ? `+${formatAmount(n)}` : n < 0 ? `−${formatAmount(-n)}` : '0');

/** The difference with its 95% interval, e.g. "+44 (+19 to +69)"; "no baseline" when there is none. */
export function liftDifference(lift: LiftResult): string {
  if (lift.lift === null || lift.low === null || lift.high === null) return 'no baseline';
  return `${signed(lift.lift)} (${signed(lift.low)} to ${signed(lift.high)})`;
}

export const LIFT_VERDICT_TEXT: Record<LiftResult['verdict'], string> = {
  above: 'Above normal',
  below: 'Below normal',
  noise: 'Within normal variation',
  'no-baseline': 'No normal week to compare with',
};

/**
 * Series names must differ (a chart keys its legend by name), but two issues may share a
 * subject: such names get the day they went out, then their id.
 */
export function distinctNames<T extends { name: string }>(
  series: readonly T[],
  day: (item: T) => string,
  id: (item: T) => number,
): T[] {
  const times = new Map<string, number>();
  for (const s of series) times.set(s.name, (times.get(s.name) ?? 0) + 1);
  const withDay = series.map((s) => ((times.get(s.name) ?? 0) > 1 ? { ...s, name: `${s.name} (${day(s)})` } : s));
  const again = new Map<string, number>();
  for (const s of withDay) again.set(s.name, (again.get(s.name) ?? 0) + 1);
  return withDay.map((s) => ((again.get(s.name) ?? 0) > 1 ? { ...s, name: `${s.name} #${id(s)}` } : s));
}

/** The spans the issue report's curves can show, as the switch names them. */
export const CURVE_SPAN_LABELS: Record<CurveSpan, string> = {
  minutes: 'First 6 hours',
  hours: 'First 2 days',
  days: 'First week',
};

/** `?span=minutes|hours|days`; none → chosen by the age; anything else refused with a sentence saying what is allowed. */
export function parseCurveSpan(
  params: URLSearchParams,
): { ok: true; span: CurveSpan | undefined } | { ok: false; message: string } {
  const value = params.get('span');
  if (value === null || value === '') return { ok: true, span: undefined };
  if (value === 'minutes' || value === 'hours' || value === 'days') return { ok: true, span: value };
  return {
    ok: false,
    message: `There is no span “${value.slice(0, 20)}”: choose minutes (the first 6 hours), hours (the first 2 days) or days (the first week). Showing the span that suits the issue’s age.`,
  };
}

/** The chart axis of a span: its end and step in hours. */
export function curveAxis(span: CurveSpan): CurveAxis {
  const { stepMs, spanMs } = CURVE_SPANS[span];
  return { maxHours: spanMs / 3_600_000, stepHours: stepMs / 3_600_000 };
}

/**
 * The lift a headline can stand on: the 72-hour one (so far, while it runs), else the 24-hour
 * one — each only with a normal week to compare with and no other send in its hours, so one
 * walk-in never heads the report of two issues. None: the headline shows credited counts instead.
 */
export function headlineLift(lift: {
  h24: LiftResult;
  h72: LiftResult;
}): { hours: 24 | 72; result: LiftResult } | null {
  for (const [hours, result] of [
    [72, lift.h72],
    [24, lift.h24],
  ] as const) {
    if (result.verdict !== 'no-baseline' && result.observedTouchedBy.length === 0) return { hours, result };
  }
  return null;
}
