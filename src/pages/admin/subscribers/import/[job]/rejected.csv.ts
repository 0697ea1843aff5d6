import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../../../web/guard.ts';
import { importJobs } from '#lib/subscribers/deps.ts';
import { rejectedRowsCsv } from '#lib/subscribers/import.service.ts';

/** Every row the import's dry run rejected, and why (`row,email,reason,raw`). */
export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'subscribers.manage');
  if (user instanceof Response) return user;
  const job = importJobs(await appContext()).get(context.params.job ?? '');
  if (!job?.plan) {
    return new Response('No dry run for this import (imports are kept for a day, and a restart forgets them).\n', {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  const base =
    job.fileName
      .replace(/\.[a-z0-9]{1,5}$/i, '')
      .replace(/[^\w.-]+/g, '-')
      .slice(0, 80) || 'import';
  return new Response('\uFEFF' + rejectedRowsCsv(job.plan), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${base}-rejected-rows.csv"`,
      'x-content-type-options': 'nosniff',
    },
  });
};
