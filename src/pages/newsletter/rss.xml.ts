import rss from '@astrojs/rss';
import type { APIContext } from 'astro';
import { appContext } from '../../lib/app/context.ts';
import { listArchivedIssues } from '../../lib/issues/issues.service.ts';
import { store } from '../../site/store.ts';

/** The newsletter's own feed: every sent issue, newest first (server-rendered, so a send shows at once). */
export async function GET(context: APIContext) {
  const app = await appContext();
  const issues = await listArchivedIssues(app.db);
  const response = await rss({
    title: `${store.name} newsletter`,
    description: `Every issue of the ${store.name} newsletter.`,
    site: context.site ?? context.url.origin,
    items: issues.map((issue) => ({
      title: issue.subject,
      description: issue.preheader || undefined,
      pubDate: new Date(issue.sentAt),
      link: `/newsletter/${issue.slug}/`,
    })),
    customData: '<language>en-us</language>',
  });
  response.headers.set('cache-control', 'no-cache');
  return response;
}
