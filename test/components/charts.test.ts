/**
 * The chart components, rendered the way Astro renders them (the Container API inside a Vite
 * dev server with the project's Astro config), then opened in Chromium: the table holds the
 * numbers, the client script draws an SVG at the box's width, and without JavaScript the table
 * is all there is. No test page ships: the page is served by this test's own Vite server.
 * CHART_SCREENSHOTS=<folder> saves what Chromium showed, to look at.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { launchBrowser } from '../helpers/browser.ts';
import {
  cumulativeTable,
  formatPercent,
  formatSinceSend,
  placeMarkerLabels,
} from '../../src/components/charts/chart-data.ts';

type Component = Parameters<
  Awaited<ReturnType<typeof import('astro/container').experimental_AstroContainer.create>>['renderToString']
>[0];

let vite: ViteDevServer;
let baseUrl: string;
let render: (name: string, props: Record<string, unknown>) => Promise<string>;
const pages = new Map<string, string>();

beforeAll(async () => {
  const { getViteConfig } = await import('astro/config');
  const { createServer } = await import('vite');
  const config = await getViteConfig({
    logLevel: 'error',
    cacheDir: path.join(os.tmpdir(), 'footfall-chart-test-vite'),
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  })({ mode: 'development', command: 'serve' });
  vite = await createServer({ ...config, configFile: false });
  // The test's pages: a bare document around the rendered components.
  vite.middlewares.use((req, res, next) => {
    const html = req.url && pages.get(req.url.split('?')[0]!);
    if (!html) {
      next();
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html);
  });
  await vite.listen();
  const address = vite.httpServer!.address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;

  const { experimental_AstroContainer } = (await vite.ssrLoadModule(
    'astro/container',
  )) as typeof import('astro/container');
  const container = await experimental_AstroContainer.create();
  render = async (name, props) => {
    const component = (await vite.ssrLoadModule(`/src/components/charts/${name}.astro`)).default as Component;
    return container.renderToString(component, { props });
  };
}, 120_000);

afterAll(async () => {
  await vite?.close();
});

/** Each table in `html` as rows of cell texts (tags stripped, entities decoded). */
function tables(html: string): string[][][] {
  const decode = (text: string) =>
    text
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .trim();
  return [...html.matchAll(/<table[\s\S]*?<\/table>/g)].map(([table]) =>
    [...table.matchAll(/<tr[\s\S]*?<\/tr>/g)].map(([row]) =>
      [...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => decode(cell[1]!)),
    ),
  );
}

function embeddedJson(html: string): unknown {
  const match = /<script type="application\/json" data-chart-data>([\s\S]*?)<\/script>/.exec(html);
  if (!match) throw new Error('no chart data in the markup');
  return JSON.parse(match[1]!);
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const opens: [number, number][] = Array.from({ length: 169 }, (_, h) => [h, Math.round(800 * (1 - Math.exp(-h / 6)))]);
const CUMULATIVE = {
  title: 'Opens after the send',
  caption: 'Unique people, by hours since the issue went out.',
  xLabel: 'Hours since send',
  series: [
    { name: 'Spring sale', emphasis: true, points: opens },
    {
      name: 'Winter widgets',
      points: opens.slice(0, 100).map(([h, v]) => [h, Math.round(v * 0.7)] as [number, number]),
    },
  ],
};
const heatValues = WEEKDAYS.map((_, d) =>
  Array.from({ length: 24 }, (_, h) => (d === 1 && h === 9 ? 1234 : d * 24 + h)),
);
const HEATMAP = { title: 'Visits by hour of the week', weekdays: WEEKDAYS, values: heatValues, unit: 'visits' };
const FUNNEL = {
  title: 'From inbox to store',
  steps: [
    { label: 'Delivered', value: 2400 },
    { label: 'Opened (likely human)', value: 1100, note: 'Apple MPP prefetches left out' },
    { label: 'Clicked', value: 300 },
    { label: 'Visited the site', value: 240 },
    { label: 'Walked in', value: 7 },
  ],
};
// 1 to 14 March 2026 in London, a send on the 3rd and one on the 10th at 09:30 local time.
const LONDON_MARCH_1 = Date.UTC(2026, 2, 1);
const TIME_SERIES = {
  title: 'Visits per day',
  timeZone: 'Europe/London',
  valueLabel: 'Visits',
  points: Array.from({ length: 14 }, (_, i) => ({ at: LONDON_MARCH_1 + i * DAY, value: i === 2 ? 512 : 40 + i })),
  markers: [
    { at: LONDON_MARCH_1 + 2 * DAY + 9.5 * HOUR, label: 'Spring sale' },
    { at: LONDON_MARCH_1 + 9 * DAY + 9.5 * HOUR, label: 'Widget care tips' },
  ],
};
const MACHINES = {
  title: 'Machine activity per issue',
  groups: ['Spring sale', 'Winter widgets', 'Autumn'],
  series: [
    { name: 'Apple MPP opens', values: [410, 380, 12] },
    { name: 'Proxy opens', values: [95, 90, 4] },
    { name: 'Scanner opens', values: [30, 22, 0] },
    { name: 'Bot clicks', values: [7, 5, 1] },
  ],
};

describe('chart components: the table holds the numbers', () => {
  it('CumulativeCurves: one column per series, a row every 6 hours when there are many hours, cumulative values carried forward', async () => {
    const html = await render('CumulativeCurves', CUMULATIVE);
    expect(html).toContain('<h3 class="chart__title"');
    expect(html).toContain('Unique people, by hours since the issue went out.');
    const [table] = tables(html);
    expect(table![0]).toEqual(['Hours since send', 'Spring sale', 'Winter widgets']);
    // 169 hours of data → every 6 hours from 0 to 168: 29 rows, said in the caption.
    expect(html).toContain('every 6 hours');
    const body = table!.slice(1);
    expect(body.map((r) => r[0])).toEqual(Array.from({ length: 29 }, (_, i) => formatSinceSend(i * 6)));
    expect(body.map((r) => r[0]).slice(0, 3)).toEqual(['0', '6 h', '12 h']);
    const at = (hour: number) => body.find((r) => r[0] === formatSinceSend(hour))!;
    expect(at(24)).toEqual([
      '24 h',
      opens[24]![1].toLocaleString('en'),
      Math.round(opens[24]![1] * 0.7).toLocaleString('en'),
    ]);
    expect(at(168)[1]).toBe('800');
    // The second issue's data ends at hour 99: later rows say so instead of inventing numbers.
    expect(at(96)[2]).not.toBe('—');
    expect(at(102)[2]).toBe('—');
    // The emphasised series gets the thick stroke, the other the thin one; the chart reaches 168 h.
    const data = embeddedJson(html) as {
      axis: { maxHours: number };
      series: { name: string; width: number; points: unknown[] }[];
    };
    expect(data.axis.maxHours).toBe(168);
    expect(data.series.map((s) => [s.name, s.width])).toEqual([
      ['Spring sale', 3.5],
      ['Winter widgets', 1.5],
    ]);
    expect(data.series[0]!.points).toHaveLength(169);
  });

  it('CumulativeCurves: few hours → a row for each hour with data, a step value where a series has no point', async () => {
    const html = await render('CumulativeCurves', {
      title: 'Clicks',
      xLabel: 'Hours',
      series: [
        {
          name: 'Clicks',
          points: [
            [0, 0],
            [2, 5],
            [10, 9],
          ],
        },
        {
          name: 'Visits',
          points: [
            [1, 3],
            [10, 12],
          ],
        },
      ],
    });
    expect(html).not.toContain('every 6 hours');
    expect(tables(html)[0]!.slice(1)).toEqual([
      ['0', '0', '0'],
      ['1 h', '0', '3'],
      ['2 h', '5', '3'],
      ['10 h', '9', '12'],
    ]);
  });

  it('CumulativeCurves over the first hours: each curve stops where its data stops; the by-series table reads each at a few moments and its latest value', async () => {
    const html = await render('CumulativeCurves', {
      title: 'Open rate against other issues',
      xLabel: 'Time since send',
      axis: { maxHours: 6, stepHours: 0.25 },
      table: 'by-series',
      seriesLabel: 'Issue',
      unit: '%',
      series: [
        {
          name: 'This week (this issue)',
          emphasis: true,
          points: [
            [0.25, 3],
            [0.5, 5],
            [0.6, 6],
          ],
        },
        { name: 'Last week', points: Array.from({ length: 24 }, (_, i) => [(i + 1) / 4, i + 1]) },
      ],
    });
    expect(tables(html)[0]).toEqual([
      ['Issue', '15 min', '30 min', '1 h', '2 h', '4 h', '6 h', 'Latest'],
      ['This week (this issue)', '3%', '5%', '—', '—', '—', '—', '6% at 36 min'],
      ['Last week', '1%', '2%', '4%', '8%', '16%', '24%', '24% at 6 h'],
    ]);
    const data = embeddedJson(html) as { axis: { maxHours: number }; series: { points: [number, number][] }[] };
    expect(data.axis.maxHours).toBe(6);
    // Nothing is drawn past the last point: no flat line into hours that have not happened.
    expect(data.series[0]!.points.at(-1)).toEqual([0.6, 6]);
  });

  it('WeekHourHeatmap: a 7 × 24 table, Monday first, each number in its weekday row and hour column', async () => {
    const html = await render('WeekHourHeatmap', HEATMAP);
    const [table] = tables(html);
    expect(table).toHaveLength(8);
    expect(table![0]).toEqual(['Day', ...Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'))]);
    expect(table!.slice(1).map((r) => r[0])).toEqual(WEEKDAYS);
    expect(table![2]![1 + 9]).toBe('1,234'); // Tuesday 09:00
    expect(table![7]![1 + 23]).toBe(String(6 * 24 + 23)); // Sunday 23:00
    for (const row of table!.slice(1)) expect(row).toHaveLength(25);
    // Scrolls sideways by keyboard too.
    expect(html).toMatch(
      /class="chart-table"[^>]*role="region"[^>]*aria-labelledby="(chart-table-[a-z0-9]+)"[^>]*tabindex="0"/,
    );
    const named = /aria-labelledby="(chart-table-[a-z0-9]+)"/.exec(html)![1];
    expect(html).toMatch(new RegExp(`<caption id="${named}"[^>]*>visits by weekday`));
  });

  it('FunnelBars: each step with its count and its share of the first step', async () => {
    const html = await render('FunnelBars', FUNNEL);
    expect(tables(html)[0]).toEqual([
      ['Step', 'Count', 'Of the first step', 'Note'],
      ['Delivered', '2,400', '100%', ''],
      ['Opened (likely human)', '1,100', '46%', 'Apple MPP prefetches left out'],
      ['Clicked', '300', '13%', ''],
      ['Visited the site', '240', '10%', ''],
      ['Walked in', '7', '0.3%', ''],
    ]);
  });

  it('FunnelBars: a first step of 0 shows no percentages rather than dividing by zero', async () => {
    const html = await render('FunnelBars', {
      title: 'Nothing yet',
      steps: [
        { label: 'Delivered', value: 0 },
        { label: 'Opened', value: 0 },
      ],
    });
    expect(tables(html)[0]!.slice(1)).toEqual([
      ['Delivered', '0', '—'],
      ['Opened', '0', '—'],
    ]);
    expect(formatPercent(3, 0)).toBe('—');
  });

  it('TimeSeriesWithMarkers: days and send times read in the site time zone, across the clocks going forward', async () => {
    // London's clocks go forward on 29 March 2026: days of 24, 23 and 24 hours.
    const march28 = Date.UTC(2026, 2, 28);
    const html = await render('TimeSeriesWithMarkers', {
      ...TIME_SERIES,
      points: [
        { at: march28, value: 5 },
        { at: march28 + DAY, value: 6 },
        { at: march28 + 2 * DAY - HOUR, value: 7 }, // 30 March 00:00 BST
      ],
      markers: [{ at: march28 + DAY + 8 * HOUR, label: 'Spring sale' }], // 09:00 BST
    });
    const [counts, sends] = tables(html);
    expect(counts).toEqual([
      ['Day', 'Visits'],
      ['Sat, 28 Mar 2026', '5'],
      ['Sun, 29 Mar 2026', '6'],
      ['Mon, 30 Mar 2026', '7'],
    ]);
    expect(sends).toEqual([
      ['Sent', 'What'],
      ['Sun, 29 Mar 2026, 09:00', 'Spring sale'],
    ]);
    // The chart gets wall-clock times (written as UTC), so its day ticks fall on London's midnights.
    const data = embeddedJson(html) as { hourly: boolean; points: { x: number }[]; markers: { x: number }[] };
    expect(data.hourly).toBe(false);
    expect(data.points.map((p) => new Date(p.x).toISOString())).toEqual([
      '2026-03-28T00:00:00.000Z',
      '2026-03-29T00:00:00.000Z',
      '2026-03-30T00:00:00.000Z',
    ]);
    expect(new Date(data.markers[0]!.x).toISOString()).toBe('2026-03-29T09:00:00.000Z');
  });

  it('TimeSeriesWithMarkers: the day still running is marked as so far, in the data and the table', async () => {
    const html = await render('TimeSeriesWithMarkers', { ...TIME_SERIES, now: LONDON_MARCH_1 + 13 * DAY + 9 * HOUR });
    const [counts] = tables(html);
    expect(counts!.at(-2)).toEqual(['Fri, 13 Mar 2026', '52']);
    expect(counts!.at(-1)).toEqual(['Sat, 14 Mar 2026', '53 (so far)']);
    const data = embeddedJson(html) as { points: { partial?: boolean }[] };
    expect(data.points.map((p) => p.partial ?? false)).toEqual([...new Array(13).fill(false), true]);
  });

  it('TimeSeriesWithMarkers: hourly points are shown with their hour', async () => {
    const html = await render('TimeSeriesWithMarkers', {
      title: 'Visits per hour',
      timeZone: 'America/New_York',
      points: [
        { at: Date.UTC(2026, 5, 1, 13), value: 3 },
        { at: Date.UTC(2026, 5, 1, 14), value: 1500 },
      ],
      markers: [],
    });
    const [counts, sends] = tables(html);
    expect(counts).toEqual([
      ['Hour starting', 'Count'],
      ['Mon, 1 Jun 2026, 09:00', '3'],
      ['Mon, 1 Jun 2026, 10:00', '1,500'],
    ]);
    expect(sends).toBeUndefined();
  });

  it('MachineActivityBars: a row per issue, a column per kind of machine activity', async () => {
    const html = await render('MachineActivityBars', MACHINES);
    expect(tables(html)[0]).toEqual([
      ['Issue', 'Apple MPP opens', 'Proxy opens', 'Scanner opens', 'Bot clicks'],
      ['Spring sale', '410', '95', '30', '7'],
      ['Winter widgets', '380', '90', '22', '5'],
      ['Autumn', '12', '4', '0', '1'],
    ]);
    // A legend for the colours, hidden until the chart is drawn.
    expect(html).toMatch(/<ul class="chart__legend" data-chart-legend hidden/);
  });

  it('labels from users cannot break out of the embedded JSON', async () => {
    const evil = '</script><script>window.pwned = 1</script><!--';
    const html = await render('FunnelBars', { title: evil, steps: [{ label: evil, value: 1 }] });
    expect(html).not.toContain('<script>window.pwned');
    expect((embeddedJson(html) as { steps: { label: string }[] }).steps[0]!.label).toBe(evil);
    expect(tables(html)[0]![1]![0]).toBe(evil);
  });

  it('refuses data it would draw wrongly, naming what is wrong', async () => {
    await expect(render('WeekHourHeatmap', { ...HEATMAP, values: heatValues.slice(0, 6) })).rejects.toThrow(
      /expected 7 rows/,
    );
    await expect(
      render('WeekHourHeatmap', { ...HEATMAP, values: heatValues.map((r, i) => (i === 3 ? r.slice(1) : r)) }),
    ).rejects.toThrow(/row 3 \(Thursday\) has 23 values/);
    await expect(render('WeekHourHeatmap', { ...HEATMAP, weekdays: WEEKDAYS.slice(1) })).rejects.toThrow(
      /7 weekday labels/,
    );
    await expect(
      render('MachineActivityBars', { ...MACHINES, series: [{ name: 'Bot clicks', values: [1, 2] }] }),
    ).rejects.toThrow(/2 values for 3 groups/);
    await expect(
      render('FunnelBars', {
        title: 'x',
        steps: [
          { label: 'Opened', value: 1 },
          { label: 'Opened', value: 2 },
        ],
      }),
    ).rejects.toThrow(/appears twice/);
    await expect(render('FunnelBars', { title: 'x', steps: [{ label: 'Opened', value: Number.NaN }] })).rejects.toThrow(
      /not a finite number/,
    );
    await expect(render('TimeSeriesWithMarkers', { ...TIME_SERIES, timeZone: 'Mars/Olympus_Mons' })).rejects.toThrow(
      RangeError,
    );
    await expect(
      render('CumulativeCurves', { ...CUMULATIVE, series: [{ name: 'a', points: [[0, Infinity]] }] }),
    ).rejects.toThrow(/not a finite number/);
  });

  it('send labels: on as few rows as fit, cut short to their room, never overlapping; numbered when names would not fit; none when even numbers would not', () => {
    const toPx = (x: number) => x;
    const name = (i: number) => `Issue number ${i} about widgets and their springs`;
    const overlaps = (placed: ReturnType<typeof placeMarkerLabels>['markers']) =>
      placed.some((a, i) =>
        placed.some((b, j) => i < j && a.row === b.row && a.left < b.right + 4 && b.left < a.right + 4),
      );
    // Four sends 250 px apart on a 1,000 px chart: one row, names cut to the room.
    const roomy = placeMarkerLabels(
      [0, 250, 500, 750].map((x, i) => ({ x: x + 40, label: name(i) })),
      toPx,
      { left: 0, right: 1000, fontPx: 12 },
    );
    expect(roomy.numbered).toBe(false);
    expect(roomy.markers.map((m) => m.row)).toEqual([0, 0, 0, 0]);
    expect(roomy.markers[0]!.text).toMatch(/^Issue number 0 about \w+…$/);
    expect(overlaps(roomy.markers)).toBe(false);
    for (const m of roomy.markers) expect(m.right).toBeLessThanOrEqual(1000);
    // Twelve sends 25 px apart on a phone: numbered, 1 the earliest, still apart.
    const dense = placeMarkerLabels(
      Array.from({ length: 12 }, (_, i) => ({ x: 40 + (11 - i) * 25, label: name(11 - i) })),
      toPx,
      { left: 0, right: 340, fontPx: 12 },
    );
    expect(dense.numbered).toBe(true);
    expect(dense.markers.map((m) => m.text)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    expect(dense.markers[0]!.label).toBe(name(0));
    expect(overlaps(dense.markers)).toBe(false);
    // Ninety sends on 300 px: no labels at all rather than a smear.
    expect(
      placeMarkerLabels(
        Array.from({ length: 90 }, (_, i) => ({ x: i * 3, label: name(i) })),
        toPx,
        { left: 0, right: 300, fontPx: 12 },
      ).markers,
    ).toEqual([]);
  });

  it('cumulativeTable: last row is the last hour with data when that is not a multiple of 6', () => {
    const t = cumulativeTable([{ points: Array.from({ length: 40 }, (_, h) => [h, h] as [number, number]) }]);
    expect(t.everySixHours).toBe(true);
    expect(t.hours).toEqual([0, 6, 12, 18, 24, 30, 36, 39]);
    expect(t.values.at(-1)).toEqual([39]);
  });
});

describe('chart components in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    const parts = await Promise.all([
      render('CumulativeCurves', CUMULATIVE),
      render('WeekHourHeatmap', HEATMAP),
      render('FunnelBars', FUNNEL),
      render('TimeSeriesWithMarkers', TIME_SERIES),
      render('MachineActivityBars', MACHINES),
    ]);
    const page = (body: string) =>
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
      <link rel="stylesheet" href="/src/styles/admin.css"><title>charts</title>
      <script type="module">import '/src/components/charts/Chart.astro?astro&type=style&index=0&lang.css'; import '/src/components/charts/ChartTable.astro?astro&type=style&index=0&lang.css';</script></head>
      <body><main class="admin-main">${body}</main></body></html>`;
    pages.set('/__charts', page(parts.join('\n')));
    // Ninety days of visits with a send every week or so, long subjects, today still running.
    const start = Date.UTC(2026, 8, 8);
    pages.set(
      '/__sends',
      page(
        await render('TimeSeriesWithMarkers', {
          title: 'Visits per day',
          timeZone: 'UTC',
          valueLabel: 'Visits',
          now: start + 89 * DAY + 8 * HOUR,
          points: Array.from({ length: 90 }, (_, i) => ({
            at: start + i * DAY,
            value: i === 89 ? 6 : 90 + ((i * 37) % 60),
          })),
          markers: [31, 38, 48, 55, 62, 69, 77, 84, 85].map((d, i) => ({
            at: start + d * DAY + 10 * HOUR,
            label: `Issue ${i + 1}: ${['Choosing your first widget, without the sales talk', 'Ten minutes a month that keep a widget running', 'Won’t hold its wind? It is probably a 40p spring'][i % 3]}`,
          })),
        }),
      ),
    );
    // Visits in their hundreds beside a handful of calls and walk-ins, each on its own scale.
    const hours = Array.from({ length: 48 }, (_, h) => h + 1);
    pages.set(
      '/__multiples',
      page(
        await render('CumulativeCurves', {
          title: 'Visits, calls and walk-ins',
          xLabel: 'Hours since send',
          axis: { maxHours: 48, stepHours: 1 },
          layout: 'multiples',
          series: [
            { name: 'Visits', points: hours.map((h) => [h, Math.round(1000 * (1 - Math.exp(-h / 8)))]) },
            { name: 'Phone calls (all)', points: hours.map((h) => [h, Math.min(20, Math.floor(h / 2))]) },
            { name: 'Walk-ins (all)', points: hours.map((h) => [h, Math.floor(h / 4)]) },
          ],
        }),
      ),
    );
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  const KINDS = ['cumulative-curves', 'week-hour-heatmap', 'funnel-bars', 'time-series', 'grouped-bars'];

  async function open(width: number, javaScriptEnabled = true): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on(
      'console',
      (message) =>
        message.type() === 'error' &&
        !message.text().startsWith('Failed to load resource') &&
        errors.push(message.text()),
    );
    page.on(
      'response',
      (response) => response.status() >= 400 && errors.push(`${response.status()} ${new URL(response.url()).pathname}`),
    );
    (page as Page & { errors: string[] }).errors = errors;
    await page.goto(`${baseUrl}/__charts`);
    if (process.env.CHART_SCREENSHOTS) {
      await page.waitForTimeout(4000);
      const name = `${process.env.CHART_SCREENSHOTS}/charts-${width}${javaScriptEnabled ? '' : '-nojs'}`;
      await page.screenshot({ path: `${name}.png`, fullPage: true });
      if (javaScriptEnabled)
        for (const figure of await page.locator('figure[data-chart]').all())
          await figure
            .locator('[data-chart-canvas]')
            .screenshot({ path: `${name}-${await figure.getAttribute('data-chart')}.png` });
    }
    return page;
  }

  const svgWidth = (page: Page, kind: string) =>
    page
      .locator(`figure[data-chart="${kind}"] [data-chart-canvas] svg[role="img"]`)
      .evaluate((svg) => svg.getBoundingClientRect().width);

  it('at phone width (375 px) every chart draws an SVG that fits; its table starts closed and opens readable, headings on one line', async () => {
    const page = await open(375);
    for (const kind of KINDS) {
      const figure = page.locator(`figure[data-chart="${kind}"]`);
      await expect.poll(() => figure.getAttribute('data-chart-state'), { timeout: 60_000 }).toBe('drawn');
      const width = await svgWidth(page, kind);
      expect(width, kind).toBeGreaterThan(250);
      expect(width, kind).toBeLessThanOrEqual(375);
      expect(await figure.locator('details[data-chart-numbers]').getAttribute('open'), kind).toBeNull();
      expect(await figure.locator('table').first().isVisible(), kind).toBe(false);
      expect(await figure.locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/^Chart: .+ table below\.$/);
    }
    // Opened, a table scrolls inside its own box; no column heading breaks a word a line.
    for (const kind of KINDS) {
      const figure = page.locator(`figure[data-chart="${kind}"]`);
      await figure.locator('details[data-chart-numbers] > summary').click();
      const box = await figure.locator('.chart-table').first().boundingBox();
      expect(box!.x + box!.width, kind).toBeLessThanOrEqual(375);
      const headings = await figure.locator('.chart-table thead th').evaluateAll((ths) =>
        ths.map((th) => ({
          text: th.textContent,
          height: th.getBoundingClientRect().height,
          line: parseFloat(getComputedStyle(th).lineHeight),
        })),
      );
      for (const h of headings) expect(h.height, `${kind}: “${h.text}”`).toBeLessThan(h.line * 1.5 + 16);
    }
    // Nothing but the heatmap's own table scroller is wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // The marks are there: 7 × 24 cells, a bar per funnel step, a bar per issue and kind, a rule per send.
    expect(
      await page.locator('figure[data-chart="week-hour-heatmap"] svg[role="img"] [aria-label="cell"] rect').count(),
    ).toBe(168);
    expect(await page.locator('figure[data-chart="funnel-bars"] svg[role="img"] [aria-label="bar"] rect').count()).toBe(
      5,
    );
    expect(
      await page.locator('figure[data-chart="grouped-bars"] svg[role="img"] [aria-label="bar"] rect').count(),
    ).toBe(12);
    expect(
      await page.locator('figure[data-chart="time-series"] svg[role="img"] [aria-label="rule"] line').count(),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await page.locator('figure[data-chart="cumulative-curves"] svg[role="img"] [aria-label="line"] path').count(),
    ).toBe(2);
    expect(await page.locator('figure[data-chart="cumulative-curves"] [data-chart-legend]').isVisible()).toBe(true);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
    await page.context().close();
  });

  it('on a wide screen too the tables start closed, and a resize redraws at the new width', async () => {
    const page = await open(1100);
    const figure = page.locator('figure[data-chart="time-series"]');
    await expect.poll(() => figure.getAttribute('data-chart-state'), { timeout: 60_000 }).toBe('drawn');
    expect(await figure.locator('details[data-chart-numbers]').getAttribute('open')).toBeNull();
    const wide = await svgWidth(page, 'time-series');
    await page.setViewportSize({ width: 600, height: 900 });
    await expect.poll(() => svgWidth(page, 'time-series')).toBeLessThan(wide - 200);
    // The send labels are drawn above the plot.
    expect(await figure.locator('svg[role="img"]').textContent()).toContain('Spring sale');
    await page.context().close();
  });

  it('without JavaScript each chart is its heading and its table, one tap away', async () => {
    const page = await open(375, false);
    for (const kind of KINDS) {
      const figure = page.locator(`figure[data-chart="${kind}"]`);
      expect(await figure.locator('svg').count(), kind).toBe(0);
      expect(await figure.locator('[data-chart-legend]').isVisible(), kind).toBe(false);
      await figure.locator('details[data-chart-numbers] > summary').click();
      expect(await figure.locator('table').first().isVisible(), kind).toBe(true);
    }
    expect(await page.locator('figure[data-chart="funnel-bars"] table').textContent()).toContain('2,400');
    await page.context().close();
  });

  it('send labels never overlap, at 1280 and 375 px; the day still running is drawn as so far, not a drop', async () => {
    for (const width of [1280, 375]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${baseUrl}/__sends`);
      const figure = page.locator('figure[data-chart="time-series"]');
      await expect.poll(() => figure.getAttribute('data-chart-state'), { timeout: 60_000 }).toBe('drawn');
      const svg = figure.locator('[data-chart-canvas] svg[role="img"]');
      const labels = await svg.locator('g[aria-label="text"] text').evaluateAll((texts) =>
        texts
          .map((t) => ({
            text: [...t.childNodes]
              .filter((n) => n.nodeType === Node.TEXT_NODE || n.nodeName === 'tspan')
              .map((n) => n.textContent)
              .join(''),
            box: t.getBoundingClientRect().toJSON() as DOMRect,
          }))
          .filter((t) => t.text !== 'so far'),
      );
      expect(labels.length, `${width}`).toBe(9);
      for (const [i, a] of labels.entries()) {
        for (const b of labels.slice(i + 1)) {
          const apart =
            a.box.right <= b.box.left ||
            b.box.right <= a.box.left ||
            a.box.bottom <= b.box.top ||
            b.box.bottom <= a.box.top;
          expect(apart, `${width} px: “${a.text}” and “${b.text}”`).toBe(true);
        }
        expect(a.box.left).toBeGreaterThanOrEqual(0);
        expect(a.box.right).toBeLessThanOrEqual(width);
      }
      // Named where they fit, numbered with a key where they do not.
      const key = figure.locator('[data-chart-canvas] ol');
      if (await key.count()) {
        expect(labels.map((l) => Number(l.text)).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 9 }, (_, i) => i + 1),
        );
        expect(await key.locator('li').first().textContent()).toBe(
          '1 Issue 1: Choosing your first widget, without the sales talk',
        );
      } else {
        expect(labels.every((l) => l.text.startsWith('Issue'))).toBe(true);
      }
      // Today: a hollow point said to be so far, reached by a dashed line.
      expect(await svg.locator('text', { hasText: 'so far' }).count()).toBe(1);
      expect(
        await svg
          .locator('[aria-label="line"] path[stroke-dasharray="3 3"], [aria-label="line"][stroke-dasharray="3 3"] path')
          .count(),
      ).toBe(1);
      expect(
        await svg.locator('[aria-label="dot"] circle[fill="white"], [aria-label="dot"][fill="white"] circle').count(),
      ).toBe(1);
      await context.close();
    }
  });

  it('small multiples: each series its own chart and scale, side by side on a wide screen, one under the other on a phone, one image', async () => {
    for (const width of [1100, 375]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${baseUrl}/__multiples`);
      const figure = page.locator('figure[data-chart="cumulative-curves"]');
      await expect.poll(() => figure.getAttribute('data-chart-state'), { timeout: 60_000 }).toBe('drawn');
      const image = figure.locator('[data-chart-canvas] [role="img"]');
      expect(await image.getAttribute('aria-label')).toMatch(/^Chart: Visits, calls and walk-ins\./);
      const panels = image.locator('svg');
      expect(await panels.count()).toBe(3);
      // Each y axis tops out near its own series: the calls' is not the visits' 1,000.
      const tops = await panels.evaluateAll((svgs) =>
        svgs.map((svg) =>
          Math.max(
            ...[...svg.querySelectorAll('[aria-label="y-axis tick label"] text')].map((t) =>
              Number(t.textContent.replace(/,/g, '')),
            ),
          ),
        ),
      );
      expect(tops[0]).toBeGreaterThanOrEqual(1000);
      expect(tops[1]).toBeLessThanOrEqual(25);
      expect(tops[2]).toBeLessThanOrEqual(15);
      const boxes = await panels.evaluateAll((svgs) =>
        svgs.map((svg) => svg.getBoundingClientRect().toJSON() as DOMRect),
      );
      if (width === 1100) expect(new Set(boxes.map((b) => Math.round(b.top))).size).toBe(1);
      else expect(boxes[1]!.top).toBeGreaterThanOrEqual(boxes[0]!.bottom);
      for (const b of boxes) expect(b.right).toBeLessThanOrEqual(width);
      await context.close();
    }
  });
});
