import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../../web/guard.ts';
import { streamedCsvDownload } from '../../../../web/csv-download.ts';
import { FAILURE_STATUS } from '#lib/outcome.ts';
import { checkPeopleRule, exportPeopleCsv } from '#lib/reports/people.service.ts';

/** The people behind a figure of an issue report (`?figure=&link=`) as a CSV download, streamed a chunk at a time. */
export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'subscribers.manage');
  if (user instanceof Response) return user;
  const app = await appContext();
  const params = context.url.searchParams;
  const checked = await checkPeopleRule(app.db, {
    issue: context.params.id,
    figure: params.get('figure') ?? '',
    link: params.get('link') ?? undefined,
  });
  if (!checked.ok)
    return new Response(checked.message + '\n', {
      status: FAILURE_STATUS[checked.reason],
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  const { rule } = checked.value;
  const name = [checked.value.issue.slug, rule.figure, rule.link === undefined ? '' : `link-${rule.link}`]
    .filter(Boolean)
    .join('-');
  return streamedCsvDownload(`${name}.csv`, 'people CSV', (write) => exportPeopleCsv(app.db, rule, write));
};
