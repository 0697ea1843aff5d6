/**
 * What the chart components share between the server (tables, validation) and the browser
 * (the Plot drawing): colours, number formats, the JSON each chart embeds, and checks that
 * fail loudly on data a chart would otherwise draw wrongly.
 */

/** Distinct hues, each at least 4.5:1 against white, so they also work for text. */
export const CATEGORY_COLOURS = ['#0b5cad', '#c2410c', '#15803d', '#7e22ce', '#a16207', '#0e7490', '#be185d'];
/** For series drawn behind an emphasised one: greyer, still at least 3.6:1 against white. */
export const MUTED_COLOURS = ['#6b7a99', '#8a6d4f', '#5f8a6e', '#8a6382', '#6f6f6f', '#4f7f8a'];
/** The admin's navy (12:1 against white). */
export const EMPHASIS_COLOUR = '#1d3461';

const countFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** 1234 → "1,234"; 2.25 → "2.3". */
export function formatCount(value: number): string {
  return countFormat.format(value);
}

/** The share `part` is of `whole`, as "56%" ("0.4%" under one per cent); "—" when `whole` is 0. */
export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '—';
  const percent = (part / whole) * 100;
  return `${percent !== 0 && Math.abs(percent) < 1 ? percent.toFixed(1) : Math.round(percent)}%`;
}

/**
 * JSON for a `<script type="application/json">`: labels come from users (issue titles), so
 * nothing in them may close the script element or start a comment.
 */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function assertFiniteNumbers(values: readonly number[], what: string): void {
  for (const value of values) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new TypeError(`${what}: ${String(value)} is not a finite number`);
  }
}

let tableIds = 0;
/** A new id for a chart table's caption: unique within a page (and within the process). */
export function nextTableId(): string {
  tableIds = (tableIds + 1) % Number.MAX_SAFE_INTEGER;
  return `chart-table-${tableIds.toString(36)}`;
}

/** Bands and legends are keyed by label: two steps called the same would draw as one. */
export function assertDistinct(labels: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw new RangeError(`${what}: "${label}" appears twice; labels must differ`);
    seen.add(label);
  }
}

// ---------------------------------------------------------------- cumulative curves

export interface CumulativeSeries {
  name: string;
  emphasis?: boolean;
  /** [hours since send, cumulative count] */
  points: [hours: number, value: number][];
}

export interface StyledSeries {
  name: string;
  colour: string;
  /** Stroke width in px: emphasised series are thicker. */
  width: number;
  emphasis: boolean;
  points: [number, number][];
}

/**
 * Colours and widths: with no emphasis every series gets a distinct hue; with emphasis the
 * emphasised ones are navy (then hues) and thick, the rest greyer and thin.
 */
export function styleSeries(series: readonly CumulativeSeries[]): StyledSeries[] {
  const anyEmphasis = series.some((s) => s.emphasis);
  let strong = 0;
  let weak = 0;
  return series.map((s) => {
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    if (!anyEmphasis)
      return {
        name: s.name,
        colour: CATEGORY_COLOURS[weak++ % CATEGORY_COLOURS.length]!,
        width: 2,
        emphasis: false,
        points,
      };
    if (s.emphasis) {
      const colour = strong === 0 ? EMPHASIS_COLOUR : CATEGORY_COLOURS[(strong - 1) % CATEGORY_COLOURS.length]!;
      strong++;
      return { name: s.name, colour, width: 3.5, emphasis: true, points };
    }
    return { name: s.name, colour: MUTED_COLOURS[weak++ % MUTED_COLOURS.length]!, width: 1.5, emphasis: false, points };
  });
}

export interface CumulativeTable {
  hours: number[];
  /** True when the rows were thinned to every 6 hours. */
  everySixHours: boolean;
  /** values[row][series]; null after a series' last point (not measured yet). */
  values: (number | null)[][];
}

/** Up to this many distinct hours, the table has a row for each; beyond, one every 6 hours. */
export const CUMULATIVE_TABLE_MAX_ROWS = 25;

/**
 * The cumulative value of `points` (sorted by hour) at `hour`: the last point at or before it
 * (a cumulative count holds until the next point), 0 before the first, null after the last.
 */
export function cumulativeValueAt(points: readonly [number, number][], hour: number): number | null {
  if (points.length === 0 || hour > points[points.length - 1]![0]) return null;
  let value = 0;
  for (const [h, v] of points) {
    if (h > hour) break;
    value = v;
  }
  return value;
}

/**
 * A row per point in time, a column per series. Beyond `maxRows` distinct times the rows are
 * thinned to every 6 hours, and the last time with data (the moment the curves reached) is kept.
 */
export function cumulativeTable(
  series: readonly { points: [number, number][] }[],
  maxRows = CUMULATIVE_TABLE_MAX_ROWS,
): CumulativeTable {
  const allHours = [...new Set(series.flatMap((s) => s.points.map(([h]) => h)))].sort((a, b) => a - b);
  let hours = allHours;
  const everySixHours = allHours.length > maxRows;
  if (everySixHours) {
    const last = allHours[allHours.length - 1]!;
    hours = [];
    for (let h = Math.max(0, Math.ceil(allHours[0]! / 6) * 6); h <= last; h += 6) hours.push(h);
    if (hours[hours.length - 1] !== last) hours.push(last);
  }
  return { hours, everySixHours, values: hours.map((h) => series.map((s) => cumulativeValueAt(s.points, h))) };
}

/**
 * The time after a send a chart shows: its end and its step in hours (the first 6 hours by
 * quarter-hour, the first 2 days or the first week by hour).
 */
export interface CurveAxis {
  maxHours: number;
  stepHours: number;
}

export const WEEK_AXIS: CurveAxis = { maxHours: 168, stepHours: 1 };

export interface CumulativeChartData {
  xLabel: string;
  yLabel: string | null;
  axis: CurveAxis;
  /** 'lines': every series on one chart; 'multiples': each series its own small chart and y scale. */
  layout: 'lines' | 'multiples';
  series: StyledSeries[];
}

/** Hours since the send as said on an axis or in a table: "15 min", "1 h 30 min", "6 h", "168 h". */
export function formatSinceSend(hours: number): string {
  const minutes = Math.round(hours * 60);
  if (minutes === 0) return '0';
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** The x ticks of an axis: every 30 min (1 h on a phone) over 6 hours, every 6 h over 2 days, every day over a week. */
export function sinceSendTicks(axis: CurveAxis, narrow: boolean): number[] {
  const every = axis.maxHours <= 6 ? (narrow ? 1 : 0.5) : axis.maxHours <= 48 ? (narrow ? 12 : 6) : narrow ? 48 : 24;
  return Array.from({ length: Math.floor(axis.maxHours / every) + 1 }, (_, i) => i * every);
}

/** Where a by-series table reads each curve: a few moments in the span, so it stays narrow on a phone. */
export function milestoneHours(axis: CurveAxis): number[] {
  if (axis.maxHours <= 6) return [0.25, 0.5, 1, 2, 4, 6].filter((h) => h <= axis.maxHours);
  if (axis.maxHours <= 48) return [1, 3, 6, 12, 24, 48].filter((h) => h <= axis.maxHours);
  return [1, 6, 24, 48, 72, axis.maxHours];
}

// ---------------------------------------------------------------- week × hour heatmap

export interface HeatmapChartData {
  weekdays: string[];
  values: number[][];
  unit: string;
}

export function assertWeekHourGrid(weekdays: readonly string[], values: readonly (readonly number[])[]): void {
  if (weekdays.length !== 7) throw new RangeError(`WeekHourHeatmap: expected 7 weekday labels, got ${weekdays.length}`);
  assertDistinct(weekdays, 'WeekHourHeatmap weekdays');
  if (values.length !== 7) throw new RangeError(`WeekHourHeatmap: expected 7 rows of values, got ${values.length}`);
  values.forEach((row, i) => {
    if (row.length !== 24)
      throw new RangeError(`WeekHourHeatmap: row ${i} (${weekdays[i]}) has ${row.length} values, expected 24`);
    assertFiniteNumbers(row, `WeekHourHeatmap row ${i}`);
  });
}

/** "00" … "23" */
export const hourLabel = (hour: number) => String(hour).padStart(2, '0');

// ---------------------------------------------------------------- funnel

export interface FunnelStep {
  label: string;
  value: number;
  note?: string;
}

export interface FunnelChartData {
  steps: { label: string; value: number; percent: string }[];
}

// ---------------------------------------------------------------- time series with markers

export interface TimeSeriesChartData {
  valueLabel: string;
  /** Whether the points are hours (else days): decides the tip's and axis's format. */
  hourly: boolean;
  /** `x` is the wall-clock time in the site's zone written as if it were UTC, so Plot's UTC
   *  axis puts day ticks at the site's midnights whatever the browser's zone. `partial`: the
   *  day (or hour) is still running, its count so far. */
  points: { x: number; value: number; partial?: boolean }[];
  markers: { x: number; label: string }[];
}

export interface PlacedMarker {
  x: number;
  label: string;
  /** What is drawn: the label, cut short to the room it has, or the send's number. */
  text: string;
  /** 1 = the earliest send shown (the table of sends is in the same order). */
  number: number;
  row: number;
  anchor: 'start' | 'end';
  /** The drawn text's extent in px (estimated). */
  left: number;
  right: number;
}

/** A generous estimate of a 12px sans-serif character's width, in ems: labels are cut to it, so they never run into each other. */
const CHAR_EM = 0.66;
const LABEL_GAP_PX = 8;
const LABEL_PAD_PX = 3;

/**
 * Where each send's label goes above a chart: rows 1 to `maxRows`, fewest first, each label on
 * its row cut short (with "…") to the room before the next label there, drawn to the right of
 * its rule or, near the right edge, to its left. When some label would keep fewer than
 * `minChars` characters, every send is numbered instead (1 = the earliest, as in the table of
 * sends); when even numbers do not fit, no label is drawn (the rules and the table remain).
 */
export function placeMarkerLabels(
  markers: readonly { x: number; label: string }[],
  toPx: (x: number) => number,
  options: { left: number; right: number; fontPx: number; maxRows?: number; minChars?: number; maxChars?: number },
): { markers: PlacedMarker[]; numbered: boolean } {
  const sorted = [...markers].sort((a, b) => a.x - b.x).map((m, i) => ({ ...m, number: i + 1, at: toPx(m.x) }));
  const charPx = CHAR_EM * options.fontPx;
  const maxRows = options.maxRows ?? 3;
  const minChars = options.minChars ?? 10;
  const maxChars = options.maxChars ?? 28;
  const place = (texts: string[], rows: number, need: (full: string) => number): PlacedMarker[] | null => {
    const placed: PlacedMarker[] = [];
    const rowEnd = new Array<number>(rows).fill(-Infinity);
    for (const [i, m] of sorted.entries()) {
      const row = i % rows;
      const next = sorted[i + rows];
      const startRoom = (next ? next.at : options.right) - m.at - LABEL_PAD_PX - LABEL_GAP_PX;
      const endRoom = m.at - LABEL_PAD_PX - Math.max(rowEnd[row]! + LABEL_GAP_PX, options.left);
      const full = texts[i]!;
      const fullPx = full.length * charPx;
      // Beside its rule on the right, as a reader expects; on the left only near the right edge.
      const anchor = startRoom >= Math.min(fullPx, minChars * charPx) || startRoom >= endRoom ? 'start' : 'end';
      const room = anchor === 'start' ? startRoom : endRoom;
      const chars = Math.min(full.length, Math.floor(room / charPx));
      if (chars < need(full)) return null;
      const text = chars >= full.length ? full : `${full.slice(0, Math.max(1, chars - 1)).trimEnd()}…`;
      const width = text.length * charPx;
      const [left, right] =
        anchor === 'start'
          ? [m.at + LABEL_PAD_PX, m.at + LABEL_PAD_PX + width]
          : [m.at - LABEL_PAD_PX - width, m.at - LABEL_PAD_PX];
      rowEnd[row] = right;
      placed.push({ x: m.x, label: m.label, text, number: m.number, row, anchor, left, right });
    }
    return placed;
  };
  const names = sorted.map((m) =>
    m.label.length > maxChars ? `${m.label.slice(0, maxChars - 1).trimEnd()}…` : m.label,
  );
  for (let rows = 1; rows <= maxRows; rows++) {
    const placed = place(names, rows, (full) => Math.min(full.length, minChars));
    if (placed) return { markers: placed, numbered: false };
  }
  const numbers = sorted.map((m) => String(m.number));
  for (let rows = 1; rows <= maxRows; rows++) {
    const placed = place(numbers, rows, (full) => full.length);
    if (placed) return { markers: placed, numbered: true };
  }
  return { markers: [], numbered: true };
}

// ---------------------------------------------------------------- grouped bars

export interface GroupedSeries {
  name: string;
  values: number[];
}

export interface GroupedBarsChartData {
  groups: string[];
  series: { name: string; colour: string }[];
  bars: { group: string; series: string; value: number }[];
}

export function assertGroupedSeries(groups: readonly string[], series: readonly GroupedSeries[]): void {
  assertDistinct(groups, 'MachineActivityBars groups');
  assertDistinct(
    series.map((s) => s.name),
    'MachineActivityBars series',
  );
  for (const s of series) {
    if (s.values.length !== groups.length)
      throw new RangeError(
        `MachineActivityBars: series "${s.name}" has ${s.values.length} values for ${groups.length} groups`,
      );
    assertFiniteNumbers(s.values, `MachineActivityBars series "${s.name}"`);
  }
}

export interface ListGrowthChartData {
  /** One per period, oldest first: its short label, whether it is still running, the active list at its end. */
  periods: { label: string; partial: boolean; active: number }[];
  /** Joins (drawn above zero) and leaves (below), stacked; one value per period each. */
  joins: { name: string; colour: string; values: number[] }[];
  leaves: { name: string; colour: string; values: number[] }[];
}
