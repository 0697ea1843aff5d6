import { areaY, dot, lineY, plot, pointerX, ruleX, ruleY, text, tip } from '@observablehq/plot';
import { formatCount, placeMarkerLabels, type PlacedMarker, type TimeSeriesChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

type Point = TimeSeriesChartData['points'][number];

// The x values are site wall-clock times written as UTC, so every format here is in UTC.
const dayFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
});
const hourFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

const FONT_PX = 12;
const LABEL_ROW_PX = 15;
const LINE = '#1b5aa6';
const MARKER = '#b3261e';

/**
 * Counts over time as a line, with a dashed rule and a label at each send. Labels never overlap:
 * each send's name goes on the first of three rows with room for it, cut short to the room
 * there is; when some name would not fit at all, every send is numbered instead, in the order of
 * the table of sends. A period still running (today) is drawn apart: a dashed line to a hollow
 * point marked "so far", not a drop to nothing.
 */
export const drawTimeSeries: DrawChart<TimeSeriesChartData> = (data, width) => {
  const format = data.hourly ? hourFormat : dayFormat;
  // A day's count is drawn at its noon, so a send at 09:30 falls inside the day it belongs to.
  const points = data.hourly ? data.points : data.points.map((p) => ({ ...p, x: p.x + 12 * 3_600_000 }));
  const complete = points.filter((p) => !p.partial);
  const partial = points.filter((p) => p.partial);
  const bridge = complete.length > 0 && partial.length > 0 ? [complete[complete.length - 1]!, ...partial] : partial;
  const marginLeft = 52;
  const marginRight = 16;
  const xs = [...points.map((p) => p.x), ...data.markers.map((m) => m.x)];
  const domain: [number, number] = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (domain[0] === domain[1]) domain[1] = domain[0] + 86_400_000;
  const toPx = (x: number) =>
    marginLeft + ((x - domain[0]) / (domain[1] - domain[0])) * (width - marginLeft - marginRight);
  const { markers, numbered } = placeMarkerLabels(data.markers, toPx, { left: 0, right: width, fontPx: FONT_PX });
  const labelRows = markers.length === 0 ? 0 : Math.max(...markers.map((m) => m.row)) + 1;
  const chart = plot({
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
      areaY(complete, { x: 'x', y: 'value', fill: LINE, fillOpacity: 0.12 }),
      lineY(complete, { x: 'x', y: 'value', stroke: LINE, strokeWidth: 2 }),
      complete.length <= 62 ? dot(complete, { x: 'x', y: 'value', fill: LINE, r: 2.5 }) : null,
      // The period still running: dashed, hollow, and said so.
      lineY(bridge, { x: 'x', y: 'value', stroke: LINE, strokeWidth: 2, strokeDasharray: '3 3' }),
      dot(partial, { x: 'x', y: 'value', stroke: LINE, fill: 'white', r: 3.5, strokeWidth: 1.5 }),
      text(partial, {
        x: 'x',
        y: 'value',
        text: () => 'so far',
        dx: -7,
        dy: -9,
        textAnchor: 'end',
        fill: LINE,
        fontSize: 11,
      }),
      ruleY([0]),
      ruleX(markers, { x: 'x', stroke: MARKER, strokeWidth: 1.5, strokeDasharray: '4 3' }),
      ...Array.from({ length: labelRows }).flatMap((_, row) =>
        (['start', 'end'] as const).map((anchor) =>
          text(
            markers.filter((m) => m.row === row && m.anchor === anchor),
            {
              x: 'x',
              text: 'text',
              frameAnchor: 'top',
              dy: -6 - row * LABEL_ROW_PX,
              lineAnchor: 'bottom',
              textAnchor: anchor,
              dx: anchor === 'start' ? 3 : -3,
              fill: MARKER,
              title: (m: PlacedMarker) => `${m.label}\n${format.format(m.x)}`,
            },
          ),
        ),
      ),
      tip(
        points,
        pointerX({
          x: 'x',
          y: 'value',
          title: (p: Point) =>
            `${format.format(p.x)}${p.partial ? ' (so far)' : ''}\n${data.valueLabel}: ${formatCount(p.value)}`,
        }),
      ),
    ],
  });
  if (!numbered || data.markers.length === 0) return chart;
  // Too many sends for their names: numbered on the chart, named in a key under it.
  const figure = document.createElement('div');
  const key = document.createElement('ol');
  key.setAttribute('aria-hidden', 'true');
  key.style.cssText = `display: flex; flex-wrap: wrap; gap: 0.15rem 1rem; list-style: none; margin: 0.3rem 0 0; padding: 0; font-size: 0.85rem; color: ${MARKER};`;
  for (const m of [...data.markers].sort((a, b) => a.x - b.x).entries()) {
    const item = document.createElement('li');
    item.textContent = `${m[0] + 1} ${m[1].label}`;
    key.append(item);
  }
  figure.append(chart, key);
  return figure;
};
