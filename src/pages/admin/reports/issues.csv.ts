import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../web/guard.ts';
import { comparisonCsv, parseComparisonSort, sortComparison } from '#lib/reports/comparison-table.ts';
import { compareIssues } from '#lib/reports/issue-report.service.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/** The comparison as a CSV download: the page's columns, in the page's sort (`?sort=&dir=`). */
export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'reports.view');
  if (user instanceof Response) return user;
  const parsed = parseComparisonSort(context.url.searchParams);
  if (!parsed.ok)
    return new Response(`${parsed.message}\n`, {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  const app = await appContext();
  const [rows, settings] = await Promise.all([compareIssues(app.db), getSettings(app.db)]);
  const day = new Date().toISOString().slice(0, 10);
  return new Response(comparisonCsv(sortComparison(rows, parsed.sort), settings.timeZone), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="issues-compared-${day}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
};
