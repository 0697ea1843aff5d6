import { barY, dot, lineY, plot, ruleY, text } from '@observablehq/plot';
import { formatCount, type ListGrowthChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

const LINE = '#1b5aa6';
const FONT_PX = 12;

interface Bar {
  period: string;
  series: string;
  value: number;
  partial: boolean;
}

/** About five whole-number ticks covering `values` (people come whole: never a tick at 0.5). */
function wholeTicks(values: readonly number[]): number[] {
  const lo = Math.min(0, ...values);
  const hi = Math.max(1, ...values);
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= Math.ceil(hi / step) * step; t += step) ticks.push(t);
  return ticks;
}

function wholeAxis(values: readonly number[]): { ticks: number[]; domain: [number, number] } {
  const ticks = wholeTicks(values);
  return { ticks, domain: [ticks[0]!, ticks.at(-1)!] };
}

/** The stacked bars' lowest and highest ends: leaves below zero, joins above. */
function stackedExtent(data: ListGrowthChartData): number[] {
  return data.periods.flatMap((_, i) => [
    data.joins.reduce((sum, s) => sum + s.values[i]!, 0),
    -data.leaves.reduce((sum, s) => sum + s.values[i]!, 0),
  ]);
}

/**
 * List growth as two small charts, one image: the active list at each period's end (a line;
 * the period still running dashed to a hollow point, "so far"), and under it who joined, by
 * source, above zero and who left, by reason, below (stacked bars; the running period's bars
 * pale). Each has its own scale, so a few leaves stay visible beside a big import.
 */
export const drawListGrowth: DrawChart<ListGrowthChartData> = (data, width) => {
  const labels = data.periods.map((p) => p.label);
  // As many period labels as fit (about 70 px each), always the latest; the table has them all.
  const step = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor((width - 72) / 70))));
  const tickLabels = labels.filter((_, i) => (labels.length - 1 - i) % step === 0);
  const x = { domain: labels, label: null, ticks: tickLabels, tickSize: 0, padding: 0.2 } as const;

  const points = data.periods.map((p) => ({ period: p.label, active: p.active, partial: p.partial }));
  const complete = points.filter((p) => !p.partial);
  const partial = points.filter((p) => p.partial);
  const bridge = complete.length > 0 && partial.length > 0 ? [complete.at(-1)!, ...partial] : partial;
  // Both charts share their frame, so their periods line up one above the other.
  const frame = {
    width,
    marginLeft: 56,
    marginRight: 16,
    marginTop: 16,
    style: `font-size: ${FONT_PX}px; overflow: visible;`,
  };
  const activeChart = plot({
    ...frame,
    height: Math.round(Math.min(240, Math.max(160, width * 0.3))),
    marginBottom: 24,
    x: { ...x, type: 'point', padding: 0.5 },
    y: {
      label: 'Active subscribers',
      grid: true,
      ...wholeAxis(points.map((p) => p.active)),
      tickFormat: formatCount,
      labelArrow: 'none',
    },
    marks: [
      lineY(complete, { x: 'period', y: 'active', stroke: LINE, strokeWidth: 2 }),
      dot(complete, {
        x: 'period',
        y: 'active',
        fill: LINE,
        r: 2.5,
        tip: true,
        title: (p: (typeof points)[number]) => `${p.period}\nActive at the end: ${formatCount(p.active)}`,
      }),
      lineY(bridge, { x: 'period', y: 'active', stroke: LINE, strokeWidth: 2, strokeDasharray: '3 3' }),
      dot(partial, {
        x: 'period',
        y: 'active',
        stroke: LINE,
        fill: 'white',
        r: 3.5,
        strokeWidth: 1.5,
        tip: true,
        title: (p: (typeof points)[number]) => `${p.period} (so far)\nActive now: ${formatCount(p.active)}`,
      }),
      text(partial, {
        x: 'period',
        y: 'active',
        text: () => 'so far',
        dy: -10,
        textAnchor: 'end',
        fill: LINE,
        fontSize: 11,
      }),
    ],
  });

  const bars: Bar[] = [
    ...data.joins.flatMap((s) =>
      s.values.map((value, i) => ({ period: labels[i]!, series: s.name, value, partial: data.periods[i]!.partial })),
    ),
    ...data.leaves.flatMap((s) =>
      s.values.map((value, i) => ({
        period: labels[i]!,
        series: s.name,
        value: -value,
        partial: data.periods[i]!.partial,
      })),
    ),
  ];
  const series = [...data.joins, ...data.leaves];
  const partialLabels = data.periods.filter((p) => p.partial).map((p) => p.label);
  const changesChart = plot({
    ...frame,
    height: Math.round(Math.min(280, Math.max(180, width * 0.35))),
    marginBottom: 28,
    x: { ...x, type: 'band' },
    y: {
      label: '↑ joined · left ↓',
      grid: true,
      ...wholeAxis(stackedExtent(data)),
      tickFormat: (v: number) => formatCount(Math.abs(v)),
      labelArrow: 'none',
    },
    color: { domain: series.map((s) => s.name), range: series.map((s) => s.colour) },
    marks: [
      barY(bars, {
        x: 'period',
        y: 'value',
        fill: 'series',
        fillOpacity: (b: Bar) => (b.partial ? 0.45 : 1),
        tip: true,
        title: (b: Bar) => `${b.period}${b.partial ? ' (so far)' : ''}\n${b.series}: ${formatCount(Math.abs(b.value))}`,
      }),
      ruleY([0]),
      text(partialLabels, {
        x: (l: string) => l,
        frameAnchor: 'top',
        text: () => 'so far',
        dy: -12,
        fill: 'currentColor',
        fontSize: 11,
      }),
    ],
  });

  const figure = document.createElement('div');
  figure.setAttribute('data-chart-image', '');
  for (const [heading, chart] of [
    ['Active subscribers at the end of each period', activeChart],
    ['Joined (above the line) and left (below)', changesChart],
  ] as const) {
    const title = document.createElement('p');
    title.style.cssText = 'margin: 0.4rem 0 0.2rem; font-weight: 650; font-size: 0.95rem;';
    title.textContent = heading;
    chart.setAttribute('aria-hidden', 'true');
    figure.append(title, chart);
  }
  return figure;
};
