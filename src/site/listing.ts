/**
 * Pure rules for listing articles: visibility, order, tags, grouping. No `astro:*`
 * imports, so this runs under plain Vitest; src/site/articles.ts feeds it the collection.
 */

export interface ArticleFields {
  title: string;
  pubDate: Date;
  tags: string[];
  draft: boolean;
}

export interface Listed<D extends ArticleFields = ArticleFields> {
  id: string;
  data: D;
  body?: string;
}

/** Drafts are shown while writing (the dev server) and never in a production build. */
export function isVisible(data: Pick<ArticleFields, 'draft'>, dev: boolean): boolean {
  return dev || !data.draft;
}

/** Newest first; the same day falls back to the title so the order is stable. */
export function byNewest(a: Listed, b: Listed): number {
  return b.data.pubDate.getTime() - a.data.pubDate.getTime() || a.data.title.localeCompare(b.data.title);
}

/** "Widget Care" and "widget care" share one page: /tags/widget-care/. */
export function tagSlug(tag: string): string {
  const slug = tag
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'tag';
}

/** How a tag reads on the page: "buying-guide" shows as "buying guide". */
export function tagLabel(tag: string): string {
  return tag.replace(/[-_]+/g, ' ').trim() || tag;
}

export function tagPath(tag: string): string {
  return `/tags/${tagSlug(tag)}/`;
}

export function articlePath(id: string): string {
  return `/articles/${id}/`;
}

export interface TagSummary<A> {
  slug: string;
  /** The spelling used by the newest article carrying the tag. */
  name: string;
  articles: A[];
}

/** Every tag with its articles (in the order given), sorted by name. */
export function collectTags<A extends Listed>(articles: A[]): TagSummary<A>[] {
  const tags = new Map<string, TagSummary<A>>();
  for (const article of articles) {
    const seen = new Set<string>();
    for (const name of article.data.tags) {
      const slug = tagSlug(name);
      if (seen.has(slug)) continue;
      seen.add(slug);
      const entry = tags.get(slug) ?? { slug, name, articles: [] };
      entry.articles.push(article);
      tags.set(slug, entry);
    }
  }
  return [...tags.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }));
}

export interface MonthGroup<A> {
  key: string;
  month: number;
  articles: A[];
}

export interface YearGroup<A> {
  year: number;
  months: MonthGroup<A>[];
}

/** Articles (already newest first) grouped by year, then month, in UTC like the dates shown. */
export function groupByMonth<A extends Listed>(articles: A[]): YearGroup<A>[] {
  const years: YearGroup<A>[] = [];
  for (const article of articles) {
    const year = article.data.pubDate.getUTCFullYear();
    const month = article.data.pubDate.getUTCMonth();
    let y = years.at(-1);
    if (y?.year !== year) {
      y = { year, months: [] };
      years.push(y);
    }
    let m = y.months.at(-1);
    if (m?.month !== month) {
      m = { key: `${year}-${String(month + 1).padStart(2, '0')}`, month, articles: [] };
      y.months.push(m);
    }
    m.articles.push(article);
  }
  return years;
}

/** Up to `count` other articles: those sharing the most tags first, then the newest. */
export function relatedArticles<A extends Listed>(current: A, articles: A[], count = 3): A[] {
  const mine = new Set(current.data.tags.map(tagSlug));
  return articles
    .filter((a) => a.id !== current.id)
    .map((a, index) => ({ a, index, shared: a.data.tags.filter((t) => mine.has(tagSlug(t))).length }))
    .sort((x, y) => y.shared - x.shared || x.index - y.index)
    .slice(0, count)
    .map((x) => x.a);
}

/** Minutes to read Markdown at ~220 words a minute, at least one. */
export function readingMinutes(markdown: string | undefined): number {
  const words = (markdown ?? '')
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/[#>*_`|\-[\]()!]/g, ' ')
    .split(/\s+/)
    .filter(Boolean).length;
  return Math.max(1, Math.round(words / 220));
}

const longDate = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' });
const monthName = new Intl.DateTimeFormat('en-US', { month: 'long', timeZone: 'UTC' });

/** Dates in frontmatter are calendar days (parsed as UTC midnight): format them in UTC. */
export function formatDate(date: Date): string {
  return longDate.format(date);
}

export function formatMonth(month: number): string {
  return monthName.format(new Date(Date.UTC(2000, month, 1)));
}

/** The machine-readable day for <time datetime>. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
