/**
 * What the newsletter admin needs from the site build: the articles an issue can feature
 * (as cards) and the paths of the pages that exist (for the pre-send check that every
 * own-site link points at one). The issues domain never imports astro:*; routes pass these in.
 */
import type { DB } from '../lib/db/database.ts';
import type { FeaturedArticle } from '../lib/issues/issue.ts';
import { sitePathsWith } from '../lib/issues/site-paths.ts';
import { publishedArticles } from './articles.ts';
import { collectTags, tagSlug } from './listing.ts';

/** Published articles by slug, newest first, as issue cards. */
export async function articleCatalog(): Promise<Map<string, FeaturedArticle & { pubDate: Date }>> {
  const articles = await publishedArticles();
  return new Map(
    articles.map((article) => [
      article.id,
      {
        slug: article.id,
        title: article.data.title,
        description: article.data.description,
        image: article.data.heroImage ?? null,
        imageAlt: article.data.heroAlt ?? null,
        pubDate: article.data.pubDate,
      },
    ]),
  );
}

/** Every page path of the site: what an own-site link in an issue may point at (as the built site's pages, from the content). */
export async function knownSitePaths(db: DB): Promise<Set<string>> {
  const articles = await publishedArticles();
  return sitePathsWith(db, [
    ...articles.map((article) => `/articles/${article.id}`),
    ...collectTags(articles).map((tag) => `/tags/${tagSlug(tag.name)}`),
  ]);
}
