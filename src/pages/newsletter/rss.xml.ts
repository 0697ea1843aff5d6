import rss from '@astrojs/rss';
import type { APIContext } from 'astro';
import { appContext } from '../../lib/app/context.ts';
import { listArchivedIssues } from '../../lib/issues/issues.service.ts';
import { getSettings } from '../../lib/settings/settings.service.ts';

/** The newsletter's own feed: every sent issue, newest first (server-rendered, so a send shows at once). */
export async function GET(context: APIContext) {
  const app = await appContext();
  const [issues, settings] = await Promise.all([listArchivedIssues(app.db), getSettings(app.db)]);
  const response = await rss({
    title: `${settings.siteName} newsletter`,
    description: `Every issue of the ${settings.siteName} newsletter.`,
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
