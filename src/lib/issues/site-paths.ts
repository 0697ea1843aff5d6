import type { DB } from '../db/database.ts';
import { listArchivedIssues } from './issues.service.ts';

/** Pages every build has, besides articles, tags and archived issues (no trailing slash). */
const FIXED_SITE_PATHS = ['/', '/articles', '/tags', '/subscribe', '/newsletter', '/rss.xml', '/newsletter/rss.xml'];

/**
 * Every page path of the site, what an own-site link in an issue may point at: the built or
 * listed pages given, the pages every build has, and the archived issues (served from the database).
 */
export async function sitePathsWith(db: DB, pages: Iterable<string>): Promise<Set<string>> {
  const issues = await listArchivedIssues(db);
  return new Set([...FIXED_SITE_PATHS, ...pages, ...issues.map((issue) => `/newsletter/${issue.slug}`)]);
}
