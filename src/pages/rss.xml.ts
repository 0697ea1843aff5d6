import rss from '@astrojs/rss';
import type { APIContext } from 'astro';
import { publishedArticles } from '../site/articles.ts';
import { articlePath } from '../site/listing.ts';
import { siteSlotToken } from '../lib/site/site-details.ts';

export const prerender = true;

export async function GET(context: APIContext) {
  const articles = await publishedArticles();
  return rss({
    // The site's name from Settings: the server entry fills the slot as it serves the feed.
    title: siteSlotToken('siteName'),
    description: `Guides, care tips and news from ${siteSlotToken('siteName')}.`,
    site: context.site ?? context.url.origin,
    items: articles.map((article) => ({
      title: article.data.title,
      description: article.data.description,
      pubDate: article.data.pubDate,
      link: articlePath(article.id),
      categories: article.data.tags,
    })),
    customData: '<language>en-us</language>',
  });
}
