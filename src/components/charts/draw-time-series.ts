import { areaY, dot, lineY, plot, pointerX, ruleX, ruleY, text, tip } from '@observablehq/plot';
import { formatCount, type TimeSeriesChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

type Point = TimeSeriesChartData['points'][number];
type Marker = TimeSeriesChartData['markers'][number] & { row: number; anchor: 'start' | 'end' };

// The x values are site wall-clock times written as UTC, so every format here is in UTC.
const dayFormat = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const hourFormat = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

const FONT_PX = 12;
const LABEL_ROW_PX = 15;
const MAX_LABEL_ROWS = 3;

/** Counts over time as a line, with a dashed rule and a label at each send. */
export const drawTimeSeries: DrawChart<TimeSeriesChartData> = (data, width) => {
  const format = data.hourly ? hourFormat : dayFormat;
  // A day's count is drawn at its noon, so a send at 09:30 falls inside the day it belongs to.
  const points = data.hourly ? data.points : data.points.map((p) => ({ ...p, x: p.x + 12 * 3_600_000 }));
  const labelEms = width < 480 ? 9 : 16;
  const marginLeft = 52;
  const marginRight = 16;
  const xs = [...points.map((p) => p.x), ...data.markers.map((m) => m.x)];
  const domain: [number, number] = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (domain[0] === domain[1]) domain[1] = domain[0] + 86_400_000;
  const markers = stackLabels(data.markers, labelEms, (x) => marginLeft + ((x - domain[0]) / (domain[1] - domain[0])) * (width - marginLeft - marginRight), width);
  const labelRows = markers.length === 0 ? 0 : Math.max(...markers.map((m) => m.row)) + 1;
  return plot({
    width,
    height: Math.round(Math.min(340, Math.max(220, width * 0.5))) + labelRows * LABEL_ROW_PX,
    marginLeft,
    marginRight,
    marginTop: 12 + labelRows * LABEL_ROW_PX,
    marginBottom: 32,
    style: `font-size: ${FONT_PX}px; overflow: visible;`,
    x: { type: 'utc', domain, label: null, ticks: width < 480 ? 4 : 8 },
    y: { label: data.valueLabel, grid: true, nice: true, zero: true, tickFormat: formatCount, labelArrow: 'none' },
    marks: [
      areaY(points, { x: 'x', y: 'value', fill: '#1b5aa6', fillOpacity: 0.12 }),
      lineY(points, { x: 'x', y: 'value', stroke: '#1b5aa6', strokeWidth: 2 }),
      points.length <= 62 ? dot(points, { x: 'x', y: 'value', fill: '#1b5aa6', r: 2.5 }) : null,
      ruleY([0]),
      ruleX(markers, { x: 'x', stroke: '#b3261e', strokeWidth: 1.5, strokeDasharray: '4 3' }),
      ...Array.from({ length: labelRows }).flatMap((_, row) =>
        (['start', 'end'] as const).map((anchor) =>
          text(
            markers.filter((m) => m.row === row && m.anchor === anchor),
            {
              x: 'x',
              text: 'label',
              frameAnchor: 'top',
              dy: -6 - row * LABEL_ROW_PX,
              lineAnchor: 'bottom',
              textAnchor: anchor,
              dx: anchor === 'start' ? 3 : -3,
              fill: '#b3261e',
              lineWidth: labelEms,
              textOverflow: 'ellipsis',
              title: (m: Marker) => `${m.label}\n${format.format(m.x)}`,
            },
          ),
        ),
      ),
      tip(points, pointerX({ x: 'x', y: 'value', title: (p: Point) => `${format.format(p.x)}\n${data.valueLabel}: ${formatCount(p.value)}` })),
    ],
  });
};

/**
 * Puts each send's label on the first row where it does not run into the one before it; a
 * label that would run off the right edge is drawn to the left of its rule instead.
 */
function stackLabels(markers: TimeSeriesChartData['markers'], labelEms: number, toPx: (x: number) => number, right: number): Marker[] {
  const rowEnds: number[] = [];
  return [...markers]
    .sort((a, b) => a.x - b.x)
    .map((m) => {
      const at = toPx(m.x);
      const labelPx = 3 + Math.min(m.label.length * FONT_PX * 0.6, labelEms * FONT_PX);
      const anchor = at + labelPx > right ? 'end' : 'start';
      const [start, end] = anchor === 'start' ? [at, at + labelPx] : [at - labelPx, at];
      let row = rowEnds.findIndex((rowEnd) => rowEnd + 6 < start);
      if (row === -1) row = rowEnds.length < MAX_LABEL_ROWS ? rowEnds.length : rowEnds.indexOf(Math.min(...rowEnds));
      rowEnds[row] = end;
      return { ...m, row, anchor };
    });
}
