import { lineY, plot, pointer, ruleY, tip } from '@observablehq/plot';
import { formatCount, type CumulativeChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

interface Point {
  series: string;
  hours: number;
  value: number;
}

/** Cumulative counts by hours since send: one line per series, emphasised ones drawn last (on top). */
export const drawCumulativeCurves: DrawChart<CumulativeChartData> = (data, width) => {
  const ordered = [...data.series].sort((a, b) => Number(a.emphasis) - Number(b.emphasis));
  const all: Point[] = data.series.flatMap((s) => s.points.map(([hours, value]) => ({ series: s.name, hours, value })));
  const dayTicks = Array.from({ length: Math.floor(data.maxHours / 24) + 1 }, (_, day) => day * 24);
  return plot({
    width,
    height: Math.round(Math.min(360, Math.max(220, width * 0.55))),
    marginLeft: 52,
    marginRight: 16,
    marginBottom: 40,
    style: 'font-size: 12px; overflow: visible;',
    x: { domain: [0, data.maxHours], ticks: width < 480 ? dayTicks.filter((h) => h % 48 === 0) : dayTicks, label: data.xLabel, labelAnchor: 'center', labelArrow: 'none' },
    y: { label: data.yLabel, grid: true, nice: true, zero: true, tickFormat: formatCount, labelArrow: 'none' },
    marks: [
      ruleY([0]),
      ...ordered.map((s) =>
        lineY(s.points, { x: (p: [number, number]) => p[0], y: (p: [number, number]) => p[1], stroke: s.colour, strokeWidth: s.width }),
      ),
      tip(
        all,
        pointer({
          x: 'hours',
          y: 'value',
          title: (p: Point) => `${p.series}\n${formatCount(p.value)} by ${formatCount(p.hours)} h`,
        }),
      ),
    ],
  });
};
