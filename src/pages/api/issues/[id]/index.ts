import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { checksJson, issueIdParam, issueJson, json, notFound } from '../../../../web/issues-api.ts';
import { previewIssue } from '#lib/issues/issues.service.ts';
import { getSettings } from '#lib/settings/settings.service.ts';
import { articleCatalog, knownSitePaths } from '#site/newsletter.ts';

/** The issue with its pre-send checks: {issue, ready, checks}. */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.view');
  if (principal instanceof Response) return principal;
  const id = issueIdParam(context.params.id);
  if (id === undefined) return notFound();
  const app = await appContext();
  const preview = await previewIssue(app.db, id, {
    secret: app.secret,
    knownPaths: await knownSitePaths(app.db),
    articles: await articleCatalog(),
  });
  if (!preview) return notFound();
  const settings = await getSettings(app.db);
  return json({
    issue: issueJson(preview.issue, settings.siteUrl),
    ready: preview.ready,
    checks: checksJson(preview.checks),
  });
};
