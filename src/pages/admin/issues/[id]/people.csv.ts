import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../../web/guard.ts';
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
  const stream = new TransformStream<Uint8Array, Uint8Array>();
  const writer = stream.writable.getWriter();
  const encoder = new TextEncoder();
  exportPeopleCsv(app.db, rule, async (text) => {
    await writer.ready;
    await writer.write(encoder.encode(text));
  })
    .then(() => writer.close())
    .catch((error: unknown) => {
      console.error('[export] people CSV failed:', error);
      writer.abort(error).catch(() => {});
    });
  const name = [checked.value.issue.slug, rule.figure, rule.link === undefined ? '' : `link-${rule.link}`]
    .filter(Boolean)
    .join('-');
  return new Response(stream.readable, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
};
