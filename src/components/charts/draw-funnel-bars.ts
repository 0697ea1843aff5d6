import { barX, plot, ruleX, text } from '@observablehq/plot';
import { EMPHASIS_COLOUR, formatCount, type FunnelChartData } from './chart-data.ts';
import type { DrawChart } from './chart-mount.ts';

type Step = FunnelChartData['steps'][number];

const STEP_PX = 54;
const BAR_SHARE = 0.5;

/**
 * One horizontal bar per funnel step, first on top, its label above it (so long labels need no
 * left margin on a phone) and its count and share of the first step after it.
 */
export const drawFunnelBars: DrawChart<FunnelChartData> = (data, width) => {
  const barPx = STEP_PX * BAR_SHARE;
  return plot({
    width,
    height: data.steps.length * STEP_PX + 26,
    marginLeft: 8,
    marginRight: 100,
    marginTop: 0,
    marginBottom: 26,
    style: 'font-size: 12px; overflow: visible;',
    x: { label: null, grid: true, nice: true, tickFormat: formatCount, ticks: width < 480 ? 3 : 5 },
    y: {
      type: 'band',
      domain: data.steps.map((s) => s.label),
      axis: null,
      paddingInner: 1 - BAR_SHARE,
      paddingOuter: (1 - BAR_SHARE) / 2,
      align: 1,
    },
    marks: [
      barX(data.steps, {
        x: 'value',
        y: 'label',
        fill: EMPHASIS_COLOUR,
        title: (s: Step) => `${s.label}\n${formatCount(s.value)} (${s.percent} of the first step)`,
        tip: true,
      }),
      ruleX([0]),
      text(data.steps, {
        x: 0,
        y: 'label',
        text: 'label',
        textAnchor: 'start',
        lineAnchor: 'bottom',
        dy: -barPx / 2 - 4,
        fontWeight: 600,
        fill: 'currentColor',
        lineWidth: Math.max(10, (width - 16) / 12),
        textOverflow: 'ellipsis',
      }),
      text(data.steps, {
        x: 'value',
        y: 'label',
        text: (s: Step) => `${formatCount(s.value)} · ${s.percent}`,
        textAnchor: 'start',
        dx: 5,
        fill: 'currentColor',
      }),
    ],
  });
};
