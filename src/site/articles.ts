/**
 * The one place that decides which articles exist on the site. Every listing, tag page,
 * the RSS feed and getStaticPaths go through publishedArticles(), so a draft is shown
 * only by the dev server and never reaches a production build (no page, no link, no feed
 * item, no sitemap entry).
 */
import { getCollection, type CollectionEntry } from 'astro:content';
import { byNewest, isVisible } from './listing.ts';

export type Article = CollectionEntry<'articles'>;

export async function publishedArticles(): Promise<Article[]> {
  const articles = await getCollection('articles', ({ data }) => isVisible(data, import.meta.env.DEV));
  return articles.sort(byNewest);
}
