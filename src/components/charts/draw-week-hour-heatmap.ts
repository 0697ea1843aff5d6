import { cell, plot } from '@observablehq/plot';
import { formatCount, hourLabel, type HeatmapChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

interface Cell {
  weekday: string;
  hour: number;
  value: number;
}

const FONT_PX = 12;

/** Weekday × hour of day, one cell each, darker for more, with a colour key; a tip names the cell. */
export const drawWeekHourHeatmap: DrawChart<HeatmapChartData> = (data, width) => {
  const cells: Cell[] = data.values.flatMap((row, day) =>
    row.map((value, hour) => ({ weekday: data.weekdays[day]!, hour, value })),
  );
  const marginLeft = Math.min(
    Math.round(width * 0.3),
    12 + Math.ceil(FONT_PX * 0.65 * Math.max(...data.weekdays.map((d) => d.length))),
  );
  const cellPx = Math.max(16, Math.min(34, (width - marginLeft - 8) / 24));
  const chart = plot({
    width,
    height: Math.round(cellPx * 7 + 44),
    marginLeft,
    marginRight: 8,
    marginTop: 8,
    marginBottom: 36,
    padding: 0.06,
    style: `font-size: ${FONT_PX}px; overflow: visible;`,
    x: {
      type: 'band',
      domain: Array.from({ length: 24 }, (_, h) => h),
      label: 'Hour of day',
      tickFormat: (h: number) => (h % (width < 480 ? 6 : 3) === 0 ? hourLabel(h) : ''),
      tickSize: 0,
      labelAnchor: 'center',
      labelArrow: 'none',
    },
    y: { type: 'band', domain: data.weekdays, label: null, tickSize: 0 },
    color: {
      type: 'linear',
      scheme: 'blues',
      domain: [0, Math.max(1, ...cells.map((c) => c.value))],
      label: data.unit,
    },
    marks: [
      cell(cells, {
        x: 'hour',
        y: 'weekday',
        fill: 'value',
        tip: true,
        title: (c: Cell) =>
          `${c.weekday} ${hourLabel(c.hour)}:00–${hourLabel(c.hour)}:59\n${formatCount(c.value)} ${data.unit}`,
      }),
    ],
  });
  const key = chart.legend('color', {
    width: Math.min(280, width - 24),
    marginLeft: 12,
    marginRight: 12,
    tickFormat: formatCount,
    label: data.unit,
    style: `font-size: ${FONT_PX}px;`,
  });
  const wrapper = document.createElement('div');
  if (key) wrapper.append(key);
  wrapper.append(chart);
  return wrapper;
};
