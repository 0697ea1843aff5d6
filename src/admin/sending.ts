import type { AppContext } from '../lib/app/context.ts';
import { createIssueHooks } from '../lib/sending/issue-hooks.ts';
import type { IssueHooks } from '../lib/sending/sending.ts';
import { knownSitePaths } from '../site/newsletter.ts';

/** The sending engine's hooks for routes and actions: the pre-send checks also know the site's pages. */
export function sendingHooks(app: Pick<AppContext, 'db' | 'secret'>): IssueHooks {
  return createIssueHooks({ secret: app.secret, knownPaths: () => knownSitePaths(app.db) });
}
