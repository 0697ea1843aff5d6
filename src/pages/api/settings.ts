import type { APIRoute } from 'astro';
import { appContext } from '../../lib/app/context.ts';
import { requireApi } from '../../web/guard.ts';
import { getSettings } from '../../lib/settings/settings.service.ts';

/** The site settings (admin keys only). */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'settings.manage');
  if (principal instanceof Response) return principal;
  const app = await appContext();
  return Response.json({ settings: await getSettings(app.db) }, { headers: { 'cache-control': 'no-store' } });
};
