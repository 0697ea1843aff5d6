import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../web/guard.ts';
import { eraseSubscriber } from '#lib/subscribers/subscribers.service.ts';

/** `DELETE /api/subscribers/:id`: erases the person (a hash stays on the suppression list; counts stay). 204, or 404. */
export const DELETE: APIRoute = async (context) => {
  const principal = await requireApi(context, 'subscribers.manage');
  if (principal instanceof Response) return principal;
  const raw = context.params.id ?? '';
  const headers = { 'cache-control': 'no-store' };
  if (!/^\d{1,15}$/.test(raw) || Number(raw) === 0)
    return Response.json(
      { error: 'invalid_id', message: 'The id must be a subscriber id (a positive whole number).' },
      { status: 400, headers },
    );
  const app = await appContext();
  if (!(await eraseSubscriber(app.db, Number(raw))))
    return Response.json({ error: 'not_found', message: 'No subscriber has this id.' }, { status: 404, headers });
  return new Response(null, { status: 204, headers });
};
