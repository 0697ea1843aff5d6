/**
 * Browser side of Chart.astro: finds each chart of one kind, draws it from its embedded JSON at
 * the width of its box, and draws again when that width changes. A chart that cannot be drawn
 * opens its table, which already holds every number.
 */

/**
 * Draws one chart `width` pixels wide; returns Plot's SVG, Plot's figure (an SVG with its
 * legend), or an element marked `data-chart-image` holding several small charts (one image).
 */
export type DrawChart<T> = (data: T, width: number) => SVGSVGElement | HTMLElement;

export function mountCharts<T>(kind: string, draw: DrawChart<T>): void {
  for (const figure of document.querySelectorAll<HTMLElement>(`figure[data-chart="${kind}"]`)) mountChart(figure, draw);
}

function mountChart<T>(figure: HTMLElement, draw: DrawChart<T>): void {
  if (figure.dataset.chartState) return;
  const canvas = figure.querySelector<HTMLElement>('[data-chart-canvas]');
  const source = figure.querySelector('script[data-chart-data]');
  if (!canvas || !source) return;

  let data: T;
  try {
    data = JSON.parse(source.textContent ?? '') as T;
  } catch (error) {
    fail(figure, canvas, error);
    return;
  }

  const title = figure.querySelector('.chart__title')?.textContent ?? '';
  let drawnWidth = -1;
  const render = () => {
    const width = Math.floor(canvas.clientWidth);
    if (width < 1 || width === drawnWidth) return;
    drawnWidth = width;
    let chart: SVGSVGElement | HTMLElement;
    try {
      chart = draw(data, width);
    } catch (error) {
      fail(figure, canvas, error);
      observer.disconnect();
      return;
    }
    // One image for assistive technology: its name is the title, its numbers are in the table.
    const label = `Chart: ${title}. The same numbers are in the table below.`;
    if (chart instanceof HTMLElement && chart.hasAttribute('data-chart-image')) {
      chart.setAttribute('role', 'img');
      chart.setAttribute('aria-label', label);
    } else {
      const svgs =
        chart instanceof SVGSVGElement ? [chart] : [...chart.children].filter((el) => el instanceof SVGSVGElement);
      const main = svgs.pop();
      main?.setAttribute('role', 'img');
      main?.setAttribute('aria-label', label);
      for (const legend of svgs) legend.setAttribute('aria-hidden', 'true');
    }
    // With a legend Plot returns a <figure>: without this its default side margins squeeze the chart.
    if (!(chart instanceof SVGSVGElement)) chart.style.margin = '0';
    canvas.replaceChildren(chart);
    if (!figure.dataset.chartState) firstDrawn(figure);
    figure.dataset.chartState = 'drawn';
  };

  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(render);
  });
  observer.observe(canvas);
  render();
}

function firstDrawn(figure: HTMLElement): void {
  const legend = figure.querySelector<HTMLElement>('[data-chart-legend]');
  if (legend) legend.hidden = false;
}

function fail(figure: HTMLElement, canvas: HTMLElement, error: unknown): void {
  canvas.replaceChildren();
  figure.dataset.chartState = 'failed';
  const numbers = figure.querySelector<HTMLDetailsElement>('details[data-chart-numbers]');
  if (numbers) numbers.open = true;
  console.error('chart not drawn:', error);
}
