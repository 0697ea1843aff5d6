import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../web/guard.ts';
import { json } from '../../../web/issues-api.ts';
import { parseComparisonSort, sortComparison } from '#lib/reports/comparison-table.ts';
import { compareIssues } from '#lib/reports/issue-report.service.ts';
import { comparisonJson } from '#lib/reports/report-json.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/** Every sent issue side by side (newest first, or `?sort=<column>&dir=asc|desc` as on the page). */
export const GET: APIRoute = async (context) => {
  const now = Date.now();
  const principal = await requireApi(context, 'reports.view', now);
  if (principal instanceof Response) return principal;
  const parsed = parseComparisonSort(context.url.searchParams);
  if (!parsed.ok) return json({ error: 'invalid', message: parsed.message }, 400);
  const app = await appContext();
  const [rows, settings] = await Promise.all([compareIssues(app.db, { now }), getSettings(app.db, { now })]);
  return json(
    comparisonJson(sortComparison(rows, parsed.sort), {
      timeZone: settings.timeZone,
      generatedAt: now,
      sort: parsed.sort,
    }),
  );
};
