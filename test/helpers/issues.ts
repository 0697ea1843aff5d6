import type { FeaturedArticle } from '../../src/lib/issues/issue.ts';
import type { IssueContent, RenderSettings } from '../../src/lib/issues/render.ts';

/** Three published articles of the site, as the admin's catalog would list them (the last shown without its picture). */
export const featured: FeaturedArticle[] = [
  {
    slug: 'getting-your-widget-ready-for-winter',
    title: 'Getting your widget ready for winter',
    description: 'Cold mornings are hard on springs and batteries. Five things to do before the first frost.',
    image: '/images/winter-widget.svg',
    imageAlt: 'A dark blue widget with a glowing amber dial on a windowsill',
  },
  {
    slug: 'widget-batteries-explained',
    title: 'Widget batteries, explained',
    description: 'Which battery your widget takes, how long it lasts, and why the cheap ones cost more.',
    image: '/images/widget-batteries.svg',
    imageAlt: 'Three batteries of different sizes beside a widget',
  },
  {
    slug: 'repair-counter-and-new-opening-hours',
    title: 'New opening hours and a proper repair counter',
    description: 'From October we open later on Thursdays.',
    image: null,
    imageAlt: null,
  },
];

export const catalog = new Map(featured.map((a) => [a.slug, a]));

export const body = `# Winter is coming to Port Foozle

Frost is forecast for the weekend. Before it arrives, read [our winter checklist](/articles/getting-your-widget-ready-for-winter/)
and book a **free spring check** at the repair counter.

- Call us on [(555) 0142](tel:5550142)
- or write to [repairs@frobozz.example](mailto:repairs@frobozz.example)
- or see the [Flathead Society's winter guide](https://flathead-society.example/winter?ref=frobozz)

![A widget in a knitted scarf on a windowsill](/images/winter-widget.svg)

> Tip: a widget kept above 5 °C winds twice as smoothly.

Opening hours are on [our home page](/).`;

export function sampleContent(overrides: Partial<IssueContent> = {}): IssueContent {
  return {
    slug: 'winter-is-coming',
    subject: 'Winter is coming: is your widget ready?',
    preheader: 'A free spring check, five tips and the Lantern series',
    bodyMarkdown: body,
    featuredArticles: featured,
    ...overrides,
  };
}

export const siteUrl = 'http://127.0.0.1:4321';

export function sampleSettings(overrides: Partial<RenderSettings> = {}): RenderSettings {
  return {
    siteName: 'Frobozz Electric',
    siteUrl,
    postalAddress: 'Frobozz Electric, 12 Flathead Row\nPort Foozle',
    openTracking: true,
    clickTracking: true,
    ...overrides,
  };
}

/** Start tags of every <a> in an HTML string. */
export function anchors(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*>/gi)].map((m) => m[0]);
}

/** The href of a start tag, entities decoded the simple way. */
export function hrefOf(tag: string): string {
  return (/\shref="([^"]*)"/i.exec(tag)?.[1] ?? '').replace(/&amp;|&#38;/g, '&');
}

/** A body long enough to go past Gmail's clipping point. */
export function longBody(paragraphs = 900): string {
  return Array.from(
    { length: paragraphs },
    (_, i) =>
      `Paragraph ${i + 1}: widgets need winding, oiling and the occasional kind word, and this sentence keeps the newsletter long.`,
  ).join('\n\n');
}
