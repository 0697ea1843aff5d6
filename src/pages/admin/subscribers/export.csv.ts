import type { APIRoute } from 'astro';
import { subscriberFilterFrom } from '#admin/subscribers.ts';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../web/guard.ts';
import { streamedCsvDownload } from '../../../web/csv-download.ts';
import { exportSubscribersCsv } from '#lib/subscribers/export.service.ts';

/** The subscribers matching the list's filter (`?q=&status=&topic=`) as a CSV download, streamed a chunk at a time. */
export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'subscribers.manage');
  if (user instanceof Response) return user;
  const app = await appContext();
  const filter = subscriberFilterFrom(context.url.searchParams);
  const day = new Date().toISOString().slice(0, 10);
  const name = ['subscribers', filter.status, filter.topic, day].filter(Boolean).join('-');
  return streamedCsvDownload(`${name}.csv`, 'subscribers CSV', (write) => exportSubscribersCsv(app.db, filter, write));
};
