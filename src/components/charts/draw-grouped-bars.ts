import { barX, plot, ruleX, text } from '@observablehq/plot';
import { formatCount, type GroupedBarsChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

type Bar = GroupedBarsChartData['bars'][number];

const BAR_PX = 14;
const GAP_PX = 4;
const GROUP_LABEL_PX = 24;

/** One block of horizontal bars per group (e.g. per issue), its label above, a coloured bar per series. */
export const drawGroupedBars: DrawChart<GroupedBarsChartData> = (data, width) => {
  const seriesNames = data.series.map((s) => s.name);
  const barsPx = seriesNames.length * (BAR_PX + GAP_PX);
  const blockPx = barsPx + GROUP_LABEL_PX;
  return plot({
    width,
    height: data.groups.length * blockPx + 26,
    marginLeft: 8,
    marginRight: 56,
    marginTop: 0,
    marginBottom: 26,
    style: 'font-size: 12px; overflow: visible;',
    x: { label: null, grid: true, nice: true, tickFormat: formatCount, ticks: width < 480 ? 3 : 6 },
    y: { domain: seriesNames, axis: null, padding: GAP_PX / (BAR_PX + GAP_PX) },
    // Each block's top part is left empty for the group's label.
    fy: {
      domain: data.groups,
      axis: null,
      paddingInner: GROUP_LABEL_PX / blockPx,
      paddingOuter: GROUP_LABEL_PX / blockPx / 2,
      align: 1,
    },
    color: { domain: seriesNames, range: data.series.map((s) => s.colour) },
    marks: [
      barX(data.bars, {
        fy: 'group',
        y: 'series',
        x: 'value',
        fill: 'series',
        tip: true,
        title: (b: Bar) => `${b.group}\n${b.series}: ${formatCount(b.value)}`,
      }),
      ruleX([0]),
      text(data.bars, {
        fy: 'group',
        y: 'series',
        x: 'value',
        text: (b: Bar) => formatCount(b.value),
        textAnchor: 'start',
        dx: 4,
        fill: 'currentColor',
      }),
      text(data.groups, {
        fy: (g: string) => g,
        frameAnchor: 'top-left',
        text: (g: string) => g,
        dy: -6,
        lineAnchor: 'bottom',
        fontWeight: 600,
        fill: 'currentColor',
        lineWidth: Math.max(10, (width - 16) / 12),
        textOverflow: 'ellipsis',
      }),
    ],
  });
};
