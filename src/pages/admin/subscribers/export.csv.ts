import type { APIRoute } from 'astro';
import { subscriberFilterFrom } from '#admin/subscribers.ts';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../web/guard.ts';
import { exportSubscribersCsv } from '#lib/subscribers/export.service.ts';

/** The subscribers matching the list's filter (`?q=&status=&topic=`) as a CSV download, streamed a chunk at a time. */
export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'subscribers.manage');
  if (user instanceof Response) return user;
  const app = await appContext();
  const filter = subscriberFilterFrom(context.url.searchParams);
  const stream = new TransformStream<Uint8Array, Uint8Array>();
  const writer = stream.writable.getWriter();
  const encoder = new TextEncoder();
  // Each chunk waits until the reader took the previous one: a slow download does not pile the list up in memory.
  exportSubscribersCsv(app.db, filter, async (text) => {
    await writer.ready;
    await writer.write(encoder.encode(text));
  })
    .then(() => writer.close())
    .catch((error: unknown) => {
      console.error('[export] subscribers CSV failed:', error);
      writer.abort(error).catch(() => {});
    });
  const day = new Date().toISOString().slice(0, 10);
  const name = ['subscribers', filter.status, filter.topic, day].filter(Boolean).join('-');
  return new Response(stream.readable, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
};
