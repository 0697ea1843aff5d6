import { lineY, plot, pointer, ruleY, tip } from '@observablehq/plot';
import {
  formatCount,
  formatSinceSend,
  sinceSendTicks,
  type CumulativeChartData,
  type StyledSeries,
} from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

interface Point {
  series: string;
  hours: number;
  value: number;
}

const MULTIPLE_GAP_PX = 20;

/**
 * Running totals by time since the send: one line per series on one chart (emphasised ones
 * drawn last, on top), or each series as its own small chart with its own y scale.
 */
export const drawCumulativeCurves: DrawChart<CumulativeChartData> = (data, width) => {
  if (data.layout === 'multiples') return drawMultiples(data, width);
  const ordered = [...data.series].sort((a, b) => Number(a.emphasis) - Number(b.emphasis));
  return curves(data, ordered, width, Math.round(Math.min(360, Math.max(220, width * 0.55))), data.yLabel);
};

function curves(
  data: CumulativeChartData,
  series: readonly StyledSeries[],
  width: number,
  height: number,
  yLabel: string | null,
): SVGSVGElement | HTMLElement {
  const all: Point[] = series.flatMap((s) => s.points.map(([hours, value]) => ({ series: s.name, hours, value })));
  return plot({
    width,
    height,
    marginLeft: 52,
    marginRight: 16,
    marginBottom: 40,
    style: 'font-size: 12px; overflow: visible;',
    x: {
      domain: [0, data.axis.maxHours],
      ticks: sinceSendTicks(data.axis, width < 480),
      tickFormat: formatSinceSend,
      label: data.xLabel,
      labelAnchor: 'center',
      labelArrow: 'none',
    },
    y: {
      label: yLabel,
      grid: true,
      nice: true,
      zero: true,
      tickFormat: formatCount,
      labelArrow: 'none',
      ...(all.every((p) => p.value === 0) ? { domain: [0, 1] } : {}),
    },
    marks: [
      ruleY([0]),
      ...series.map((s) =>
        lineY(s.points, {
          x: (p: [number, number]) => p[0],
          y: (p: [number, number]) => p[1],
          stroke: s.colour,
          strokeWidth: s.width,
          ...(s.points.length === 1 ? { marker: 'dot' as const } : {}),
        }),
      ),
      tip(
        all,
        pointer({
          x: 'hours',
          y: 'value',
          title: (p: Point) => `${p.series}\n${formatCount(p.value)} by ${formatSinceSend(p.hours)}`,
        }),
      ),
    ],
  });
}

/** Small multiples: a chart per series side by side (one under the other on a phone), one image for assistive technology. */
function drawMultiples(data: CumulativeChartData, width: number): HTMLElement {
  const columns = width >= 720 ? Math.min(3, data.series.length) : 1;
  const each = Math.floor((width - MULTIPLE_GAP_PX * (columns - 1)) / columns);
  const grid = document.createElement('div');
  grid.setAttribute('data-chart-image', '');
  grid.style.cssText = `display: grid; grid-template-columns: repeat(${columns}, ${each}px); gap: 0.75rem ${MULTIPLE_GAP_PX}px;`;
  for (const s of data.series) {
    const panel = document.createElement('div');
    const heading = document.createElement('p');
    heading.style.cssText = `margin: 0 0 0.2rem; font-weight: 650; font-size: 0.95rem; color: ${s.colour};`;
    const last = s.points.at(-1);
    // Said with the time it was reached: a week's curve ends below an all-time total.
    heading.textContent = last ? `${s.name}: ${formatCount(last[1])} by ${formatSinceSend(last[0])}` : s.name;
    const chart = curves(data, [s], each, Math.round(Math.min(220, Math.max(150, each * 0.5))), null);
    chart.setAttribute('aria-hidden', 'true');
    panel.append(heading, chart);
    grid.append(panel);
  }
  return grid;
}
